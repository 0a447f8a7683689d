/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem's persistent state: factory values, JSON round trip, atomic
 * save/load and errors that name the field.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_ext.h"
#include "sim/state_file.h"

START_TEST(test_sim_state_factory_monarch1_is_old_33080)
{
  struct sim_state st;
  sim_state_factory(&st, SIM_PROFILE_MONARCH1);
  ck_assert_int_eq(st.boot_select, SIM_BOOT_FFF);
  ck_assert(st.fff.valid);
  ck_assert_str_eq(st.fff.version, "5.1.1.0");
  ck_assert_uint_eq(st.fff.build, 33080);
  ck_assert_str_eq(st.fff.ue, "5.0.0.0c");
  ck_assert_uint_eq(st.bootrom.build, 33080);
  ck_assert(st.updater.valid);
  ck_assert_str_eq(st.upgrade_status, "No report");
  sim_state_factory(&st, SIM_PROFILE_GM02S);
  ck_assert_str_eq(st.fff.version, "8.2.0.3");
}
END_TEST

START_TEST(test_sim_state_json_round_trip_keeps_everything)
{
  struct sim_state a, b;
  char err[256];
  sim_state_factory(&a, SIM_PROFILE_MONARCH1);
  a.boot_select = SIM_BOOT_RECOVERY;
  a.fff.valid = false;
  snprintf(a.upgrade_status, sizeof(a.upgrade_status), "fail");
  snprintf(a.fail_reason, sizeof(a.fail_reason), "record UPGR at 12: x");
  a.writes = 42;
  a.fs_store_len = 1001;
  a.fs_store = malloc(a.fs_store_len);
  for (uint32_t i = 0; i < a.fs_store_len; i++)
    a.fs_store[i] = (uint8_t)(i * 7);
  char *text = sim_state_to_json(&a);
  ck_assert_ptr_nonnull(text);
  ck_assert_msg(sim_state_from_json(&b, text, err, sizeof(err)) == 0, "%s",
                err);
  ck_assert_int_eq(b.boot_select, SIM_BOOT_RECOVERY);
  ck_assert(!b.fff.valid);
  ck_assert_str_eq(b.fail_reason, a.fail_reason);
  ck_assert_uint_eq(b.writes, 42);
  ck_assert_mem_hex_eq(b.fs_store, b.fs_store_len, a.fs_store, a.fs_store_len);
  char *again = sim_state_to_json(&b);
  ck_assert_str_eq(again, text);
  free(again);
  free(text);
  sim_state_release(&a);
  sim_state_release(&b);
}
END_TEST

START_TEST(test_sim_state_bad_json_error_names_field)
{
  struct sim_state st;
  char err[256];
  struct sim_state f;
  sim_state_factory(&f, SIM_PROFILE_MONARCH1);
  char *text = sim_state_to_json(&f);
  char *p = strstr(text, "\"build\": 33080");
  ck_assert_ptr_nonnull(p);
  memcpy(p, "\"build\": -3080", 14);
  ck_assert_int_eq(sim_state_from_json(&st, text, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "fff.build") != NULL, "%s", err);
  free(text);
  ck_assert_int_eq(sim_state_from_json(&st, "{\"profile\": 1", err,
                                       sizeof(err)), -1);
  ck_assert_msg(strstr(err, "line 1") != NULL, "%s", err);
  ck_assert_int_eq(sim_state_from_json(&st, "{\"profile\": \"x\"}", err,
                                       sizeof(err)), -1);
  ck_assert_msg(strstr(err, "profile") != NULL, "%s", err);
}
END_TEST

/* sqn-sim's store in its own file: the state names it and its length. */
START_TEST(test_sim_state_store_file_round_trips_and_bad_names_are_refused)
{
  struct sim_state a, b;
  char err[256];
  sim_state_factory(&a, SIM_PROFILE_MONARCH1);
  snprintf(a.fs_store_file, sizeof(a.fs_store_file), "st.json.store-3");
  a.fs_store_len = 4194304;
  char *text = sim_state_to_json(&a);
  ck_assert_ptr_nonnull(strstr(text, "\"file\": \"st.json.store-3\""));
  ck_assert_ptr_null(strstr(text, "base64"));
  ck_assert_int_eq(sim_state_from_json(&b, text, err, sizeof(err)), 0);
  ck_assert_str_eq(b.fs_store_file, "st.json.store-3");
  ck_assert_uint_eq(b.fs_store_len, 4194304);
  ck_assert_ptr_null(b.fs_store);
  struct sim_state c;
  ck_assert_int_eq(sim_state_copy(&c, &b), 0);
  ck_assert_uint_eq(c.fs_store_len, 4194304);
  ck_assert_str_eq(c.fs_store_file, "st.json.store-3");
  sim_state_release(&c);
  sim_state_release(&b);
  free(text);
  static const char *const bad[] = {"../etc/passwd", "", "..", "a/b"};
  sim_state_factory(&a, SIM_PROFILE_MONARCH1);
  char *base = sim_state_to_json(&a);
  char *at = strstr(base, "\"fs_store\": null");
  ck_assert_ptr_nonnull(at);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char doc[4096];
    snprintf(doc, sizeof(doc),
             "%.*s\"fs_store\": {\"length\": 5, \"file\": \"%s\"}%s",
             (int)(at - base), base, bad[i], at + strlen("\"fs_store\": null"));
    ck_assert_int_eq(sim_state_from_json(&b, doc, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "fs_store.file") != NULL, "%s: %s", bad[i], err);
    sim_state_release(&b);
  }
  free(base);
}
END_TEST

START_TEST(test_sim_state_optional_keys_round_trip_and_stay_absent)
{
  struct sim_state a, b;
  char err[256];
  sim_state_factory(&a, SIM_PROFILE_MONARCH1);
  char *text = sim_state_to_json(&a);
  /* Defaults leave the files as they always were. */
  ck_assert_ptr_null(strstr(text, "incomplete"));
  ck_assert_ptr_null(strstr(text, "uart_baud"));
  free(text);
  a.fff.incomplete = true;
  a.uart_baud = 115200;
  text = sim_state_to_json(&a);
  ck_assert_ptr_nonnull(strstr(text, "\"incomplete\": true"));
  ck_assert_ptr_nonnull(strstr(text, "\"uart_baud\": 115200"));
  ck_assert_msg(sim_state_from_json(&b, text, err, sizeof(err)) == 0, "%s",
                err);
  ck_assert(b.fff.incomplete);
  ck_assert(!b.updater.incomplete);
  ck_assert_uint_eq(b.uart_baud, 115200);
  /* Bad values name the key. */
  char *p = strstr(text, "\"uart_baud\": 115200");
  memcpy(p, "\"uart_baud\":      7", 19);
  ck_assert_int_eq(sim_state_from_json(&b, text, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "uart_baud") != NULL, "%s", err);
  free(text);
  text = sim_state_to_json(&a);
  p = strstr(text, "\"incomplete\": true");
  memcpy(p, "\"incomplete\": 1   ", 18);
  ck_assert_int_eq(sim_state_from_json(&b, text, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "fff.incomplete") != NULL, "%s", err);
  free(text);
  sim_state_release(&a);
}
END_TEST

START_TEST(test_sim_state_save_is_atomic_and_loads_back)
{
  char dir[] = "/tmp/test_sim_state_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256], err[256];
  snprintf(path, sizeof(path), "%s/state.json", dir);
  struct sim_state a, b;
  sim_state_factory(&a, SIM_PROFILE_GM02S);
  a.writes = 7;
  ck_assert_msg(sim_state_save(path, &a, err, sizeof(err)) == 0, "%s", err);
  a.writes = 8;
  ck_assert_msg(sim_state_save(path, &a, err, sizeof(err)) == 0, "%s", err);
  ck_assert_msg(sim_state_load(path, &b, err, sizeof(err)) == 0, "%s", err);
  ck_assert_uint_eq(b.writes, 8);
  ck_assert_int_eq(b.profile, SIM_PROFILE_GM02S);
  sim_state_release(&b);
  /* No temporary file left behind. */
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
  ck_assert_int_eq(system(cmd), 0);
  /* Missing file: ENOENT. */
  snprintf(path, sizeof(path), "%s/none.json", dir);
  errno = 0;
  ck_assert_int_eq(sim_state_load(path, &b, err, sizeof(err)), -1);
  ck_assert_int_eq(errno, ENOENT);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_sim_state_named_fixtures_load)
{
  static const char *names[] = {"factory-33080", "healthy",
                                "interrupted-upgrade", "ffh-only",
                                "gm02s-recovery"};
  for (size_t i = 0; i < 5; i++) {
    char path[512], err[256];
    struct sim_state st;
    snprintf(path, sizeof(path), "%s/states/%s.json", SQN_FIXTURES, names[i]);
    ck_assert_msg(sim_state_load(path, &st, err, sizeof(err)) == 0, "%s", err);
    sim_state_release(&st);
  }
}
END_TEST

/* Issue 14: state-file strings end up in AT replies: a CR/LF (or any
 * control byte) in a version would forge reply lines. */
START_TEST(test_sim_state_strings_must_be_printable)
{
  struct sim_state a, b;
  char err[256];
  sim_state_factory(&a, SIM_PROFILE_MONARCH1);
  snprintf(a.fff.version, sizeof(a.fff.version), "5.1\r\nOK");
  char *text = sim_state_to_json(&a);
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(sim_state_from_json(&b, text, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "fff.version") && strstr(err, "printable"), "%s",
                err);
  free(text);
  snprintf(a.fff.version, sizeof(a.fff.version), "5.1.1.0");
  snprintf(a.fail_reason, sizeof(a.fail_reason), "bad\x1b[2J");
  text = sim_state_to_json(&a);
  ck_assert_int_eq(sim_state_from_json(&b, text, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "fail_reason"), "%s", err);
  free(text);
}
END_TEST

/* Issue 14: the loader reads regular files of bounded size only: a FIFO,
 * /dev/zero or a huge sparse file end at once with a clear error. */
START_TEST(test_sim_state_load_refuses_endless_files)
{
  struct sim_state st;
  char err[256], dir[] = "/tmp/sqn-state-XXXXXX", path[300];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(sim_state_load("/dev/zero", &st, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
  snprintf(path, sizeof(path), "%s/fifo", dir);
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  ck_assert_int_eq(sim_state_load(path, &st, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
  unlink(path);
  snprintf(path, sizeof(path), "%s/sparse", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  ck_assert_int_eq(truncate(path, 20LL << 30), 0);
  ck_assert_int_eq(sim_state_load(path, &st, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "more than a state file can hold"), "%s", err);
  unlink(path);
  rmdir(dir);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("sim_state");
  TCase *tc = tcase_create("state");
  tcase_add_test(tc, test_sim_state_factory_monarch1_is_old_33080);
  tcase_add_test(tc, test_sim_state_json_round_trip_keeps_everything);
  tcase_add_test(tc, test_sim_state_bad_json_error_names_field);
  tcase_add_test(tc, test_sim_state_optional_keys_round_trip_and_stay_absent);
  tcase_add_test(tc, test_sim_state_save_is_atomic_and_loads_back);
  tcase_add_test(tc,
                 test_sim_state_store_file_round_trips_and_bad_names_are_refused);
  tcase_add_test(tc, test_sim_state_named_fixtures_load);
  tcase_add_test(tc, test_sim_state_strings_must_be_printable);
  tcase_add_test(tc, test_sim_state_load_refuses_endless_files);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
