/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness/src/ci.c: the shard from a CI engine's environment, and the
 * JUnit merge of shards (sqn-scenario merge).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ci.h"

/* --- a fake environment ---------------------------------------------------- */

static const char *fake_env[16][2];

static void env_set(const char *name, const char *value) {
  for (int i = 0; i < 16; i++)
    if (!fake_env[i][0] || !strcmp(fake_env[i][0], name)) {
      fake_env[i][0] = name;
      fake_env[i][1] = value;
      return;
    }
  ck_abort_msg("fake environment full");
}

static const char *env_get(const char *name) {
  for (int i = 0; i < 16 && fake_env[i][0]; i++)
    if (!strcmp(fake_env[i][0], name))
      return fake_env[i][1];
  return NULL;
}

static void env_clear(void) { memset(fake_env, 0, sizeof(fake_env)); }

static int shard_from(struct harness_shard *sh, const char **src, char *err) {
  sh->k = sh->m = 0;
  *src = NULL;
  err[0] = '\0';
  return harness_shard_from_env(env_get, sh, src, err, 256);
}

START_TEST(test_env_nothing_set_is_no_shard) {
  struct harness_shard sh;
  const char *src;
  char err[256];
  env_clear();
  ck_assert_int_eq(shard_from(&sh, &src, err), 0);
  env_set("CI_NODE_INDEX", ""); /* set but empty: not a shard either */
  ck_assert_int_eq(shard_from(&sh, &src, err), 0);
}
END_TEST

START_TEST(test_env_gitlab_parallel_is_one_based) {
  struct harness_shard sh;
  const char *src;
  char err[256];
  env_clear();
  env_set("CI_NODE_INDEX", "3");
  env_set("CI_NODE_TOTAL", "5");
  ck_assert_int_eq(shard_from(&sh, &src, err), 1);
  ck_assert_uint_eq(sh.k, 3);
  ck_assert_uint_eq(sh.m, 5);
  ck_assert_ptr_nonnull(strstr(src, "CI_NODE_INDEX"));
  env_set("CI_NODE_INDEX", "5");
  ck_assert_int_eq(shard_from(&sh, &src, err), 1);
  ck_assert_uint_eq(sh.k, 5);
}
END_TEST

START_TEST(test_env_kubernetes_index_is_zero_based) {
  struct harness_shard sh;
  const char *src;
  char err[256];
  env_clear();
  env_set("JOB_COMPLETION_INDEX", "0");
  env_set("SQN_SHARD_TOTAL", "1000");
  ck_assert_int_eq(shard_from(&sh, &src, err), 1);
  ck_assert_uint_eq(sh.k, 1);
  ck_assert_uint_eq(sh.m, 1000);
  env_set("JOB_COMPLETION_INDEX", "999");
  ck_assert_int_eq(shard_from(&sh, &src, err), 1);
  ck_assert_uint_eq(sh.k, 1000);
  ck_assert_ptr_nonnull(strstr(src, "Kubernetes"));
  /* One past the last index is an error naming both variables. */
  env_set("JOB_COMPLETION_INDEX", "1000");
  ck_assert_int_eq(shard_from(&sh, &src, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "JOB_COMPLETION_INDEX=1000"));
  ck_assert_ptr_nonnull(strstr(err, "SQN_SHARD_TOTAL=1000"));
}
END_TEST

START_TEST(test_env_explicit_variables_win) {
  struct harness_shard sh;
  const char *src;
  char err[256];
  env_clear();
  env_set("CI_NODE_INDEX", "1");
  env_set("CI_NODE_TOTAL", "2");
  env_set("SQN_SHARD_INDEX", "4");
  env_set("SQN_SHARD_TOTAL", "4");
  ck_assert_int_eq(shard_from(&sh, &src, err), 1);
  ck_assert_uint_eq(sh.k, 4);
  ck_assert_uint_eq(sh.m, 4);
  ck_assert_ptr_nonnull(strstr(src, "SQN_SHARD_INDEX"));
}
END_TEST

START_TEST(test_env_bad_values_are_named) {
  struct harness_shard sh;
  const char *src;
  char err[256];
  static const char *bad[][4] = {
      {"CI_NODE_INDEX", "2", NULL, "CI_NODE_TOTAL"},       /* no total */
      {"CI_NODE_INDEX", "0", "4", "CI_NODE_INDEX=0"},      /* 1-based */
      {"CI_NODE_INDEX", "5", "4", "CI_NODE_INDEX=5"},      /* > total */
      {"CI_NODE_INDEX", "2x", "4", "CI_NODE_INDEX=2x"},    /* junk */
      {"CI_NODE_INDEX", "-1", "4", "CI_NODE_INDEX=-1"},
      {"CI_NODE_INDEX", "1", "0", "CI_NODE_TOTAL=0"},
      {"CI_NODE_INDEX", "1", "many", "CI_NODE_TOTAL=many"},
      {"SQN_SHARD_INDEX", "1", "100001", "SQN_SHARD_TOTAL=100001"},
      {"JOB_COMPLETION_INDEX", "3", NULL, "SQN_SHARD_TOTAL"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    env_clear();
    env_set(bad[i][0], bad[i][1]);
    if (bad[i][2])
      env_set(!strcmp(bad[i][0], "CI_NODE_INDEX") ? "CI_NODE_TOTAL"
                                                   : "SQN_SHARD_TOTAL",
              bad[i][2]);
    ck_assert_msg(shard_from(&sh, &src, err) == -1, "case %zu accepted", i);
    ck_assert_msg(strstr(err, bad[i][3]) != NULL, "case %zu: '%s' lacks '%s'",
                  i, err, bad[i][3]);
  }
}
END_TEST

/* --- merge --------------------------------------------------------------- */

static char dir[] = "/tmp/test_harness_ci.XXXXXX";

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/test_harness_ci.XXXXXX"))); }

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

static const char *write_file(const char *name, const char *text) {
  static char paths[8][256];
  static int n;
  char *p = paths[n++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static const char *shard_xml(unsigned k, unsigned m, unsigned tests,
                             unsigned failures) {
  static char buf[4][2048];
  static int n;
  char *b = buf[n++ % 4];
  int len = snprintf(b, 2048,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuites><testsuite name=\"campaign seed 7 shard "
                     "%u/%u\" tests=\"%u\" failures=\"%u\" errors=\"0\" "
                     "time=\"1.500\">\n",
                     k, m, tests, failures);
  for (unsigned i = 0; i < tests; i++)
    len += snprintf(b + len, 2048 - (size_t)len,
                    "  <testcase classname=\"campaign\" name=\"run %u\"/>\n",
                    k + i * m);
  snprintf(b + len, 2048 - (size_t)len, "</testsuite></testsuites>\n");
  return b;
}

/* Merge files into a string; returns harness_junit_merge's result. */
static int merge(const char **files, int n, struct harness_merge_stats *st,
                 char **out, char **report, char *err) {
  size_t ol, rl;
  FILE *o = open_memstream(out, &ol), *r = open_memstream(report, &rl);
  int rc = harness_junit_merge(files, n, o, r, st, err, 1024);
  fclose(o);
  fclose(r);
  return rc;
}

START_TEST(test_merge_joins_shards_and_sums_totals) {
  const char *f[3] = {write_file("c-1.xml", shard_xml(1, 3, 4, 0)),
                      write_file("c-3.xml", shard_xml(3, 3, 3, 1)),
                      write_file("c-2.xml", shard_xml(2, 3, 3, 0))};
  struct harness_merge_stats st;
  char *out, *rep, err[1024];
  ck_assert_int_eq(merge(f, 3, &st, &out, &rep, err), 0);
  ck_assert_uint_eq(st.files, 3);
  ck_assert_uint_eq(st.suites, 3);
  ck_assert_uint_eq(st.tests, 10);
  ck_assert_uint_eq(st.failures, 1);
  ck_assert_uint_eq(st.missing, 0);
  ck_assert_double_eq_tol(st.time_s, 4.5, 1e-9);
  ck_assert_ptr_nonnull(strstr(out, "<testsuites tests=\"10\" failures=\"1\""));
  for (unsigned k = 1; k <= 3; k++) {
    char name[64];
    snprintf(name, sizeof(name), "shard %u/3\"", k);
    ck_assert_msg(strstr(out, name) != NULL, "%s missing", name);
  }
  ck_assert_ptr_nonnull(strstr(out, "name=\"run 10\""));
  ck_assert_str_eq(rep, "");
  /* One document: exactly one <testsuites> and one closing tag. */
  ck_assert_ptr_null(strstr(strstr(out, "<testsuites") + 1, "<testsuites"));
  ck_assert_ptr_null(strstr(strstr(out, "</testsuites>") + 1, "</testsuites>"));
  free(out);
  free(rep);
}
END_TEST

START_TEST(test_merge_reports_a_missing_shard) {
  const char *f[2] = {write_file("c-1.xml", shard_xml(1, 4, 2, 0)),
                      write_file("c-4.xml", shard_xml(4, 4, 2, 0))};
  struct harness_merge_stats st;
  char *out, *rep, err[1024];
  ck_assert_int_eq(merge(f, 2, &st, &out, &rep, err), 0);
  ck_assert_uint_eq(st.missing, 2);
  ck_assert_ptr_nonnull(strstr(rep, "campaign seed 7 shard 2/4"));
  ck_assert_ptr_nonnull(strstr(rep, "campaign seed 7 shard 3/4"));
  free(out);
  free(rep);
}
END_TEST

START_TEST(test_merge_refuses_the_same_shard_twice) {
  const char *f[2] = {write_file("a.xml", shard_xml(2, 2, 1, 0)),
                      write_file("b.xml", shard_xml(2, 2, 1, 0))};
  struct harness_merge_stats st;
  char *out, *rep, err[1024];
  ck_assert_int_eq(merge(f, 2, &st, &out, &rep, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "b.xml"));
  ck_assert_ptr_nonnull(strstr(err, "a.xml"));
  ck_assert_ptr_nonnull(strstr(err, "shard 2/2"));
  free(out);
  free(rep);
}
END_TEST

START_TEST(test_merge_takes_bare_suites_and_counts_testcases) {
  /* Another tool's report: a bare <testsuite> without counts. */
  const char *f[1] = {write_file(
      "other.xml", "<testsuite name='ctest'>\n"
                   "<testcase name='a'/>\n"
                   "<testcase name='b'><failure message='x'/></testcase>\n"
                   "<testcase name='c'><skipped/></testcase>\n"
                   "</testsuite>\n")};
  struct harness_merge_stats st;
  char *out, *rep, err[1024];
  ck_assert_int_eq(merge(f, 1, &st, &out, &rep, err), 0);
  ck_assert_uint_eq(st.tests, 3);
  ck_assert_uint_eq(st.failures, 1);
  ck_assert_uint_eq(st.skipped, 1);
  ck_assert_uint_eq(st.missing, 0);
  free(out);
  free(rep);
}
END_TEST

START_TEST(test_merge_bad_files_are_named_with_the_byte) {
  struct harness_merge_stats st;
  char *out, *rep, err[1024];
  const char *cut[1] = {write_file(
      "cut.xml", "<testsuites>\n<testsuite name=\"x\" tests=\"1\">\n"
                 "<testcase name=\"a\"/>\n")};
  ck_assert_int_eq(merge(cut, 1, &st, &out, &rep, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "cut.xml: byte 13"));
  free(out);
  free(rep);
  const char *none[1] = {write_file("none.xml", "hello\n")};
  ck_assert_int_eq(merge(none, 1, &st, &out, &rep, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "none.xml: no <testsuite>"));
  free(out);
  free(rep);
  char missing[300];
  snprintf(missing, sizeof(missing), "%s/absent.xml", dir);
  const char *abs[1] = {missing};
  ck_assert_int_eq(merge(abs, 1, &st, &out, &rep, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "absent.xml: cannot open"));
  free(out);
  free(rep);
}
END_TEST

int main(void) {
  Suite *s = suite_create("harness_ci");
  TCase *env = tcase_create("env");
  tcase_add_test(env, test_env_nothing_set_is_no_shard);
  tcase_add_test(env, test_env_gitlab_parallel_is_one_based);
  tcase_add_test(env, test_env_kubernetes_index_is_zero_based);
  tcase_add_test(env, test_env_explicit_variables_win);
  tcase_add_test(env, test_env_bad_values_are_named);
  suite_add_tcase(s, env);
  TCase *mg = tcase_create("merge");
  tcase_add_checked_fixture(mg, setup, teardown);
  tcase_add_test(mg, test_merge_joins_shards_and_sums_totals);
  tcase_add_test(mg, test_merge_reports_a_missing_shard);
  tcase_add_test(mg, test_merge_refuses_the_same_shard_twice);
  tcase_add_test(mg, test_merge_takes_bare_suites_and_counts_testcases);
  tcase_add_test(mg, test_merge_bad_files_are_named_with_the_byte);
  suite_add_tcase(s, mg);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
