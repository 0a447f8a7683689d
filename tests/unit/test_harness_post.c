/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The post-conditions every scenario checks (harness/src/post.c, run.c):
 * each one can fail. First on synthetic trace events, then end to end with
 * deliberately wrong external hosts (tiny sqn-chat scripts written here),
 * and the updater's report parser. Last, `--pty` with real sqn-sim and
 * sqn-update processes on one healthy scenario.
 */
#include <check.h>
#include <dirent.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_ext.h"
#include "post.h"
#include "run.h"
#include "scenario.h"
#include "sqnup/err.h"

/* --- synthetic trace ------------------------------------------------------ */

/* An AT line or STP frame, typed as the model types them. */
static void ev(struct harness_post *p, enum sim_trace_kind k,
               const char *text) {
  struct sim_trace_event e = {.t_us = 1000000, .kind = k, .text = text};
  if (k == SIM_TRACE_AT_RX || k == SIM_TRACE_AT_TX) {
    e.ev.type = SIM_EVENT_AT_LINE;
    e.ev.line = text;
  }
  if (k == SIM_TRACE_AT_RX) {
    e.raw = (const uint8_t *)text;
    e.raw_len = strlen(text);
  }
  harness_post_event(p, &e);
}

/* A typed event; its text is deliberately not what the model would say:
 * the checks must not depend on the wording. */
static void typed(struct harness_post *p, enum sim_trace_kind k,
                  enum sim_event_type type, int smod) {
  struct sim_trace_event e = {.t_us = 1000000, .kind = k,
                              .text = "(reworded)"};
  e.ev.type = type;
  e.ev.smod = smod;
  e.ev.success = true;
  harness_post_event(p, &e);
}

#define UP(p, smod) typed(p, SIM_TRACE_MODE, SIM_EVENT_UP, smod)
#define BOOT(p) typed(p, SIM_TRACE_MODE, SIM_EVENT_BOOT, 3)
#define POWER_OFF(p) typed(p, SIM_TRACE_MODE, SIM_EVENT_POWER_OFF, 0)
#define VERDICT_OK(p) typed(p, SIM_TRACE_UPGRADE, SIM_EVENT_VERDICT, 0)

START_TEST(test_post_good_sequence_has_no_violation) {
  struct harness_post p;
  harness_post_init(&p, false);
  harness_post_run(&p, 1);
  UP(&p, 2);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSWBOOT=3,1");
  BOOT(&p);
  UP(&p, 3);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSTPU=\"ON_THE_FLY\"");
  ev(&p, SIM_TRACE_AT_TX, "OK");
  ev(&p, SIM_TRACE_STP_RX, "BLOCK sid 1 tid 2");
  VERDICT_OK(&p);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSWBOOT=1,1");
  ck_assert_str_eq(p.violation, "");
}
END_TEST

START_TEST(test_post_smswboot_1_before_success_is_a_violation) {
  struct harness_post p;
  harness_post_init(&p, false);
  harness_post_run(&p, 2);
  UP(&p, 4);
  ev(&p, SIM_TRACE_AT_RX, "at+smswboot=1,1");
  ck_assert_ptr_nonnull(strstr(p.violation, "run 2"));
  ck_assert_ptr_nonnull(strstr(p.violation, "before the modem reported "
                                            "upgrade success"));
  ck_assert_ptr_nonnull(strstr(p.violation, "at+smswboot=1,1"));
}
END_TEST

START_TEST(test_post_smswboot_1_after_reported_success_is_fine) {
  struct harness_post p;
  harness_post_init(&p, false);
  harness_post_run(&p, 1);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMUPGRADE?");
  ev(&p, SIM_TRACE_AT_TX, "+SMUPGRADE: success");
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSWBOOT=1,1");
  ck_assert_str_eq(p.violation, "");
  /* A new run must see the success again... */
  harness_post_run(&p, 2);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSWBOOT=1,0");
  ck_assert_str_ne(p.violation, "");
  /* ... unless the scenario starts from success. */
  harness_post_init(&p, true);
  harness_post_run(&p, 1);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSWBOOT=1,0");
  ck_assert_str_eq(p.violation, "");
}
END_TEST

START_TEST(test_post_at_stp_outside_ffh_is_a_violation) {
  struct harness_post p;
  harness_post_init(&p, false);
  harness_post_run(&p, 1);
  UP(&p, 0);
  ev(&p, SIM_TRACE_AT_RX, "AT+STP");
  ck_assert_str_eq(p.violation, "");
  POWER_OFF(&p);
  UP(&p, 2);
  ev(&p, SIM_TRACE_AT_RX, "AT+STPX"); /* another command: fine */
  ck_assert_str_eq(p.violation, "");
  ev(&p, SIM_TRACE_AT_RX, "AT+STP");
  ck_assert_ptr_nonnull(strstr(p.violation, "SMOD 2, not FFH"));
}
END_TEST

START_TEST(test_post_stp_after_refused_start_is_a_violation) {
  struct harness_post p;
  harness_post_init(&p, false);
  harness_post_run(&p, 1);
  UP(&p, 3);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSTPU=\"ON_THE_FLY\"");
  ev(&p, SIM_TRACE_AT_TX, "ERROR");
  ev(&p, SIM_TRACE_AT_RX, "AT+SMOD?"); /* asking is fine */
  ck_assert_str_eq(p.violation, "");
  ev(&p, SIM_TRACE_AT_RX, "fast\\x00\\x00\\x00\\x01garbage");
  ck_assert_ptr_nonnull(strstr(p.violation, "STP bytes sent after the modem "
                                            "refused AT+SMSTPU"));
  /* Accepted on a retry: STP is fine again. */
  harness_post_init(&p, false);
  harness_post_run(&p, 1);
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSTPU=\"ON_THE_FLY\"");
  ev(&p, SIM_TRACE_AT_TX, "+CME ERROR: 4");
  ev(&p, SIM_TRACE_AT_RX, "AT+SMSTPU=\"ON_THE_FLY\"");
  ev(&p, SIM_TRACE_AT_TX, "OK");
  ev(&p, SIM_TRACE_STP_RX, "OPEN sid 1");
  ck_assert_str_eq(p.violation, "");
}
END_TEST

START_TEST(test_post_report_parses_done_and_version) {
  struct harness_report r;
  harness_report_reset(&r);
  harness_report_event(&r, "INFO", "version=LR5.1.1.0-33988");
  harness_report_event(&r, "INFO", "version=LR5.1.1.0-38638");
  harness_report_event(&r, "DONE", "upgrade verified: modem runs LR5.1.1.0-38638");
  ck_assert(r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_str_eq(r.version, "LR5.1.1.0-38638");
  harness_report_event(&r, "DONE",
                       "E_DOWNGRADE_REFUSED: the package is older. rerun "
                       "with --force");
  ck_assert_str_eq(r.err_name, "E_DOWNGRADE_REFUSED");
  ck_assert_int_eq(r.err, SQN_E_DOWNGRADE_REFUSED);
  harness_report_event(&r, "DONE", "E_NO_SUCH_THING: what");
  ck_assert_int_eq(r.err, 1);
}
END_TEST

START_TEST(test_post_report_reads_a_sqn_update_log) {
  char dir[] = "/tmp/test_harness_post_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/u.log", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("       0.001 PHASE    IDLE         checking the package\n"
        "       0.010 PROGRESS 100/2166\n"
        "       3.000 INFO     DETECT       version=LR5.1.1.0-33988\n"
        "       9.000 DONE     FAILED       E_UPGRADE_REJECTED: the modem "
        "refused: Patch didn't apply!. rerun with a full image\n",
        f);
  fclose(f);
  struct harness_report r;
  harness_report_reset(&r);
  ck_assert_int_eq(harness_report_load_log(&r, path), 0);
  ck_assert(r.done);
  ck_assert_str_eq(r.err_name, "E_UPGRADE_REJECTED");
  ck_assert_str_eq(r.version, "LR5.1.1.0-33988");
  ck_assert_int_eq(harness_report_load_log(&r, "/nonexistent/u.log"), -1);
  unlink(path);
  rmdir(dir);
}
END_TEST

/* --- end to end: wrong external hosts ------------------------------------ */

static char tmp_dir[256];
static struct harness_opts opts = {.fixtures = SQN_FIXTURES,
                                   .wall_scale = 0.02};

static void tmp_setup(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_harness_post_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void tmp_teardown(void) {
  DIR *d = opendir(tmp_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      char p[512];
      snprintf(p, sizeof(p), "%s/%s", tmp_dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(tmp_dir);
}

static const char *write_file(const char *name, const char *text) {
  static char path[2][512];
  static int which;
  which ^= 1;
  snprintf(path[which], sizeof(path[which]), "%s/%s", tmp_dir, name);
  FILE *f = fopen(path[which], "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path[which];
}

/* Run a one-run scenario whose host is the chat script `chat`, with
 * `faults` (YAML flow list or ""), and return its status and reason. */
static enum harness_status run_chat(const char *chat, const char *faults,
                                    char *why, size_t cap) {
  char script[512], yaml[2048], err[1024] = "";
  snprintf(script, sizeof(script), "%s", write_file("host.chat", chat));
  snprintf(yaml, sizeof(yaml),
           "name: wrong-host\nverdict: report\nstate: healthy\n"
           "rerun: none\nbound: 120\n%s%s%s"
           "updater: {kind: external, command: \"sqn-chat --timeout-scale "
           "{scale} %s {pty}\"}\n"
           "expect: {result: any}\n",
           faults[0] ? "faults: " : "", faults, faults[0] ? "\n" : "",
           script);
  const char *path = write_file("wrong.yaml", yaml);
  struct harness_scenario *s = harness_scenario_load(path, err, sizeof(err));
  ck_assert_msg(s != NULL, "%s", err);
  struct harness_result r;
  harness_run_scenario(s, &opts, &r);
  enum harness_status st = r.status;
  snprintf(why, cap, "%s", r.reason);
  harness_result_free(&r);
  harness_scenario_free(s);
  return st;
}

START_TEST(test_post_host_smswboot_1_first_fails_the_scenario) {
  char why[1024];
  enum harness_status st =
      run_chat("open 921600\nflush\nsend \"AT+SMSWBOOT=1,1\\r\\n\"\n"
               "read-any timeout 5\n",
               "", why, sizeof(why));
  ck_assert_int_eq(st, HARNESS_FAIL);
  ck_assert_msg(strstr(why, "POST-CONDITION") &&
                    strstr(why, "before the modem reported upgrade success"),
                "%s", why);
}
END_TEST

START_TEST(test_post_host_at_stp_in_application_fails_the_scenario) {
  char why[1024];
  enum harness_status st = run_chat(
      "open 921600\nflush\nsend \"AT+STP\\r\\n\"\nread-any timeout 5\n", "",
      why, sizeof(why));
  ck_assert_int_eq(st, HARNESS_FAIL);
  ck_assert_msg(strstr(why, "POST-CONDITION") &&
                    strstr(why, "AT+STP sent to a modem in SMOD 2"),
                "%s", why);
}
END_TEST

START_TEST(test_post_host_pushing_after_refusal_fails_the_scenario) {
  char why[1024];
  enum harness_status st = run_chat(
      "open 921600\nflush\nsend \"AT+SMSTPU=\\\"ON_THE_FLY\\\"\\r\\n\"\n"
      "read-any timeout 5\nsend \"fast0000stp-bytes\\r\\n\"\n"
      "read-any timeout 5\n",
      "[{name: refuse, when: at, match: \"AT+SMSTPU*\", do: error}]", why,
      sizeof(why));
  ck_assert_int_eq(st, HARNESS_FAIL);
  ck_assert_msg(strstr(why, "POST-CONDITION") &&
                    strstr(why, "STP bytes sent after the modem refused"),
                "%s", why);
}
END_TEST

/* --- --pty: real sqn-sim and sqn-update ---------------------------------- */

START_TEST(test_post_pty_real_processes_healthy_upgrade_passes) {
  char why[1024], err[1024] = "";
  struct harness_opts o = opts;
  o.pty = true;
  const char *path = write_file(
      "ok.yaml", "name: ok\nverdict: recover\nstate: healthy\n"
                 "expect: {mode: fff, version: package}\n");
  struct harness_scenario *s = harness_scenario_load(path, err, sizeof(err));
  ck_assert_msg(s != NULL, "%s", err);
  struct harness_result r;
  harness_run_scenario(s, &o, &r);
  snprintf(why, sizeof(why), "%s", r.reason);
  ck_assert_msg(r.status == HARNESS_PASS, "%s\n%s", why, r.narr.text);
  /* Narrated from sqn-sim's trace file. */
  ck_assert_ptr_nonnull(strstr(r.narr.text, "sqn-sim #1 started on /dev/"));
  ck_assert_ptr_nonnull(strstr(r.narr.text, "AT+SMSWBOOT=3,1"));
  ck_assert_ptr_nonnull(strstr(r.narr.text, "verdict: success"));
  harness_result_free(&r);
  harness_scenario_free(s);
}
END_TEST

static bool have_tool(const char *name) {
  char p[1024];
  harness_find_tool(&opts, name, p, sizeof(p));
  return access(p, X_OK) == 0;
}

static bool have_pty(void) {
  int m, s;
  if (openpty(&m, &s, NULL, NULL, NULL) != 0)
    return false;
  close(m);
  close(s);
  return true;
}

int main(void) {
  Suite *s = suite_create("harness_post");
  TCase *tc = tcase_create("trace");
  tcase_add_test(tc, test_post_good_sequence_has_no_violation);
  tcase_add_test(tc, test_post_smswboot_1_before_success_is_a_violation);
  tcase_add_test(tc, test_post_smswboot_1_after_reported_success_is_fine);
  tcase_add_test(tc, test_post_at_stp_outside_ffh_is_a_violation);
  tcase_add_test(tc, test_post_stp_after_refused_start_is_a_violation);
  tcase_add_test(tc, test_post_report_parses_done_and_version);
  tcase_add_test(tc, test_post_report_reads_a_sqn_update_log);
  suite_add_tcase(s, tc);
  bool pty = have_pty();
  if (pty && have_tool("sqn-chat")) {
    TCase *e2e = tcase_create("wrong-hosts");
    tcase_add_checked_fixture(e2e, tmp_setup, tmp_teardown);
    tcase_set_timeout(e2e, 20);
    tcase_add_test(e2e, test_post_host_smswboot_1_first_fails_the_scenario);
    tcase_add_test(e2e,
                   test_post_host_at_stp_in_application_fails_the_scenario);
    tcase_add_test(e2e,
                   test_post_host_pushing_after_refusal_fails_the_scenario);
    suite_add_tcase(s, e2e);
  } else {
    fprintf(stderr, "note: no pty or no sqn-chat: wrong-host cases not run\n");
  }
  if (pty && have_tool("sqn-sim") && have_tool("sqn-update")) {
    TCase *real = tcase_create("pty-real");
    tcase_add_checked_fixture(real, tmp_setup, tmp_teardown);
    tcase_set_timeout(real, 20);
    tcase_add_test(real, test_post_pty_real_processes_healthy_upgrade_passes);
    suite_add_tcase(s, real);
  } else {
    fprintf(stderr, "note: no pty, sqn-sim or sqn-update: --pty case not "
                    "run\n");
  }
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
