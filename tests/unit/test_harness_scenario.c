/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario loader and in-process runner: malformed files are rejected with
 * file, line and reason; the whole library loads; the runner passes a good
 * scenario and fails wrong expectations and runs past their bound.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_ext.h"
#include "run.h"
#include "scenario.h"

/* --- instances and fixtures ---------------------------------------------- */

static char tmp_dir[256];

static void tmp_setup(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_harness_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void tmp_teardown(void) {
  DIR *d = opendir(tmp_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
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

static const char *write_yaml(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Load must fail and the message must hold "<path>:<line>:" and `why`. */
static void assert_rejected(const char *name, const char *text, int line,
                            const char *why) {
  char err[1024] = "";
  const char *path = write_yaml(name, text);
  struct harness_scenario *s = harness_scenario_load(path, err, sizeof(err));
  if (s)
    harness_scenario_free(s);
  ck_assert_msg(s == NULL, "%s was accepted", name);
  char want[600];
  snprintf(want, sizeof(want), "%s:%d:", path, line);
  ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
  ck_assert_msg(strstr(err, why) != NULL, "error '%s' lacks '%s'", err, why);
}

static const struct harness_opts opts = {
    .fixtures = SQN_FIXTURES,
    .wall_scale = 0.02,
};

/* --- tests ---------------------------------------------------------------- */

START_TEST(test_harness_scenario_unknown_key_names_line) {
  assert_rejected("unknown.yaml",
                  "name: x\nverdict: recover\nbogus: 1\nexpect: {}\n", 3,
                  "bogus");
}
END_TEST

START_TEST(test_harness_scenario_bad_enum_names_line) {
  assert_rejected("enum.yaml", "name: x\nverdict: maybe\nexpect: {}\n", 2,
                  "verdict");
}
END_TEST

START_TEST(test_harness_scenario_yaml_syntax_names_line) {
  assert_rejected("syntax.yaml",
                  "name: x\nverdict: report\nbound: [3\nexpect: {}\n", 3,
                  "bound");
}
END_TEST

START_TEST(test_harness_scenario_bad_fault_action_names_line) {
  assert_rejected("fault.yaml",
                  "name: x\nverdict: report\nfaults:\n  - when: at\n"
                  "    match: AT\n    do: explode\nexpect: {}\n",
                  6, "do");
}
END_TEST

START_TEST(test_harness_scenario_external_without_pty_names_line) {
  assert_rejected("ext.yaml",
                  "name: x\nverdict: report\nupdater:\n  kind: external\n"
                  "  command: sqn-chat script.chat\nexpect: {}\n",
                  5, "{pty}");
}
END_TEST

START_TEST(test_harness_scenario_bad_mode_word_names_line) {
  assert_rejected("mode.yaml",
                  "name: x\nverdict: recover\nexpect:\n  mode: sideways\n", 4,
                  "sideways");
}
END_TEST

START_TEST(test_harness_scenario_control_byte_names_line) {
  assert_rejected("ctrl.yaml", "name: x\nverdict: recover\nsummary: a\x01z\n",
                  3, "control");
}
END_TEST

START_TEST(test_harness_scenario_missing_expect_rejected) {
  char err[1024] = "";
  const char *path = write_yaml("noexp.yaml", "name: x\nverdict: recover\n");
  struct harness_scenario *s = harness_scenario_load(path, err, sizeof(err));
  ck_assert_ptr_null(s);
  ck_assert_msg(strstr(err, "expect") && strstr(err, path), "%s", err);
}
END_TEST

START_TEST(test_harness_scenario_missing_file_names_file) {
  char err[1024] = "";
  struct harness_scenario *s =
      harness_scenario_load("/nonexistent/x.yaml", err, sizeof(err));
  ck_assert_ptr_null(s);
  ck_assert_msg(strstr(err, "/nonexistent/x.yaml"), "%s", err);
}
END_TEST

START_TEST(test_harness_scenario_library_loads_and_is_marked) {
  char dir[512];
  snprintf(dir, sizeof(dir), "%s/scenarios", SQN_FIXTURES);
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  int n = 0;
  bool modes[30] = {false};
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
      continue;
    char path[1024], err[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    struct harness_scenario *s = harness_scenario_load(path, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_msg(s->mode != NULL, "%s has no faults.md mode", path);
    int m = atoi(s->mode + 1);
    ck_assert_int_ge(m, 1);
    ck_assert_int_le(m, 29);
    modes[m] = true;
    harness_scenario_free(s);
    n++;
  }
  closedir(d);
  ck_assert_int_ge(n, 35);
  for (int m = 1; m <= 29; m++)
    ck_assert_msg(modes[m], "no scenario for F%02d", m);
}
END_TEST

static enum harness_status run_text(const char *name, const char *text,
                                    char *reason, size_t cap) {
  char err[1024] = "";
  const char *path = write_yaml(name, text);
  struct harness_scenario *s = harness_scenario_load(path, err, sizeof(err));
  ck_assert_msg(s != NULL, "%s", err);
  struct harness_result r;
  harness_run_scenario(s, &opts, &r);
  enum harness_status st = r.status;
  snprintf(reason, cap, "%s", r.reason);
  ck_assert_ptr_nonnull(r.narr.text);
  harness_result_free(&r);
  harness_scenario_free(s);
  return st;
}

START_TEST(test_harness_run_healthy_upgrade_passes) {
  char why[1024];
  enum harness_status st =
      run_text("ok.yaml",
               "name: ok\nmode: F01\nverdict: recover\nstate: healthy\n"
               "expect: {mode: fff, version: package}\n",
               why, sizeof(why));
  ck_assert_msg(st == HARNESS_PASS, "%s", why);
}
END_TEST

START_TEST(test_harness_run_wrong_expectation_fails) {
  char why[1024];
  enum harness_status st = run_text(
      "wrong.yaml",
      "name: wrong\nverdict: report\nstate: healthy\n"
      "expect: {error: E_DOWNGRADE_REFUSED}\n",
      why, sizeof(why));
  ck_assert_int_eq(st, HARNESS_FAIL);
  ck_assert_msg(strstr(why, "expected an error"), "%s", why);
}
END_TEST

START_TEST(test_harness_run_past_bound_fails) {
  char why[1024];
  enum harness_status st = run_text(
      "bound.yaml",
      "name: bound\nverdict: recover\nstate: healthy\nbound: 5\n"
      "rerun: none\nexpect: {}\n",
      why, sizeof(why));
  ck_assert_int_eq(st, HARNESS_FAIL);
  ck_assert_msg(strstr(why, "bound"), "%s", why);
}
END_TEST

START_TEST(test_harness_run_skip_is_reported) {
  char why[1024];
  enum harness_status st =
      run_text("skip.yaml",
               "name: s\nverdict: recover\nskip: needs a feature\n", why,
               sizeof(why));
  ck_assert_int_eq(st, HARNESS_SKIP);
  ck_assert_str_eq(why, "needs a feature");
}
END_TEST

/* --- suite factory -------------------------------------------------------- */

static Suite *harness_scenario_suite(void) {
  Suite *s = suite_create("harness_scenario");
  TCase *tc = tcase_create("load");
  tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
  tcase_add_test(tc, test_harness_scenario_unknown_key_names_line);
  tcase_add_test(tc, test_harness_scenario_bad_enum_names_line);
  tcase_add_test(tc, test_harness_scenario_yaml_syntax_names_line);
  tcase_add_test(tc, test_harness_scenario_bad_fault_action_names_line);
  tcase_add_test(tc, test_harness_scenario_external_without_pty_names_line);
  tcase_add_test(tc, test_harness_scenario_bad_mode_word_names_line);
  tcase_add_test(tc, test_harness_scenario_control_byte_names_line);
  tcase_add_test(tc, test_harness_scenario_missing_expect_rejected);
  tcase_add_test(tc, test_harness_scenario_missing_file_names_file);
  tcase_add_test(tc, test_harness_scenario_library_loads_and_is_marked);
  suite_add_tcase(s, tc);
  TCase *run = tcase_create("run");
  tcase_add_checked_fixture(run, tmp_setup, tmp_teardown);
  tcase_set_timeout(run, 20);
  tcase_add_test(run, test_harness_run_healthy_upgrade_passes);
  tcase_add_test(run, test_harness_run_wrong_expectation_fails);
  tcase_add_test(run, test_harness_run_past_bound_fails);
  tcase_add_test(run, test_harness_run_skip_is_reported);
  suite_add_tcase(s, run);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(harness_scenario_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
