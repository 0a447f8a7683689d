/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The judge (harness/src/judge.c) and the bridge (harness/src/bridge.c).
 *
 * Each invariant can fail: a test per invariant plants the defect it
 * guards against (a modem still running the old build, a host that sends
 * AT+SMSWBOOT=1,x before success, a remedy rerun that does not work, ...)
 * and expects exactly that verdict. The bridge's options (read limit, byte
 * steps, the stop hook) do what they say.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "check_ext.h"
#include "judge.h"
#include "post.h"
#include "sim/state_file.h"
#include "sqnup/err.h"

/* --- a model on the bridge, its trace into a post-condition tracker ------ */

struct rig {
  struct sim_modem *m;
  struct harness_bridge b;
  struct harness_post post;
};

static void rig_tx(void *user, const uint8_t *buf, size_t len) {
  struct rig *r = user;
  harness_bridge_to_host(&r->b, buf, len);
}

static void rig_trace(void *user, const struct sim_trace_event *ev) {
  struct rig *r = user;
  harness_post_event(&r->post, ev);
}

static void rig_init(struct rig *r, const char *state) {
  char path[512], err[256];
  struct sim_state st;
  memset(r, 0, sizeof(*r));
  snprintf(path, sizeof(path), "%s/states/%s.json", SQN_FIXTURES, state);
  ck_assert_msg(sim_state_load(path, &st, err, sizeof(err)) == 0, "%s", err);
  harness_post_init(&r->post,
                    strcmp(st.upgrade_status, "success") == 0);
  harness_post_run(&r->post, 1);
  struct sim_modem_config mc = {.profile = st.profile,
                                .state = &st,
                                .time_scale = 1.0,
                                .tx = rig_tx,
                                .trace = rig_trace,
                                .user = r};
  r->m = sim_modem_new(&mc, 0);
  sim_state_release(&st);
  ck_assert_ptr_nonnull(r->m);
  sim_modem_set_host_baud(r->m, 921600);
  harness_bridge_init(&r->b, r->m, 0);
  harness_bridge_settle(&r->b, 60ull * 1000000);
}

static void rig_free(struct rig *r) {
  sim_modem_free(r->m);
  harness_bridge_free(&r->b);
}

/* The incident's package: 5.1.1.0 [38638]. */
static const struct harness_target incident_pkg = {"5.1.1.0", 38638};

static struct harness_modem_view good_view(void) {
  struct harness_modem_view v;
  memset(&v, 0, sizeof(v));
  v.powered = true;
  v.smod = SIM_SMOD_FFF;
  v.fff.valid = true;
  snprintf(v.fff.version, sizeof(v.fff.version), "5.1.1.0");
  v.fff.build = 38638;
  return v;
}

/* --- one test per invariant --------------------------------------------- */

START_TEST(test_judge_success_with_the_package_running_passes) {
  struct harness_modem_view v = good_view();
  char why[400] = "";
  ck_assert_int_eq(harness_judge_success(&v, &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_NONE);
}
END_TEST

START_TEST(test_judge_powered_fails_on_a_modem_that_is_off) {
  struct harness_modem_view v = good_view();
  char why[400];
  v.powered = false;
  ck_assert_int_eq(harness_judge_success(&v, &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_POWERED);
  ck_assert_ptr_nonnull(strstr(why, "INVARIANT powered"));
}
END_TEST

START_TEST(test_judge_smod_fff_fails_on_a_modem_left_in_recovery) {
  struct rig r;
  rig_init(&r, "interrupted-upgrade"); /* boots RECOVERY */
  struct harness_modem_view v;
  char why[400];
  harness_view_model(&v, r.m);
  ck_assert_int_eq(harness_judge_success(&v, &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_SMOD_FFF);
  ck_assert_ptr_nonnull(strstr(why, "RECOVERY"));
  rig_free(&r);
}
END_TEST

START_TEST(test_judge_fff_valid_fails_on_an_invalid_slot) {
  struct harness_modem_view v = good_view();
  char why[400];
  v.fff.valid = false;
  ck_assert_int_eq(harness_judge_success(&v, &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_FFF_VALID);
}
END_TEST

START_TEST(test_judge_package_fails_on_the_old_build_of_the_same_version) {
  /* The incident: 5.1.1.0 [33080] still running where 5.1.1.0 [38638]
   * was to be installed. Comparing the version text alone passes it. */
  struct rig r;
  rig_init(&r, "factory-33080");
  struct harness_modem_view v;
  char why[400];
  harness_view_model(&v, r.m);
  ck_assert_int_eq(v.smod, SIM_SMOD_FFF);
  ck_assert_str_eq(v.fff.version, incident_pkg.version);
  ck_assert_int_eq(harness_judge_success(&v, &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_PACKAGE);
  ck_assert_ptr_nonnull(strstr(why, "5.1.1.0-33080"));
  rig_free(&r);
}
END_TEST

START_TEST(test_judge_commands_fails_on_smswboot_1_before_success) {
  /* A host that switches a RECOVERY modem to the application before any
   * upgrade success, through the real model and its typed trace. */
  static const char cmd[] = "AT+SMSWBOOT=1,1\r";
  struct rig r;
  char why[400];
  rig_init(&r, "interrupted-upgrade");
  ck_assert_int_eq(harness_judge_commands(&r.post, why, sizeof(why)),
                   HARNESS_INV_NONE);
  sim_modem_feed(r.m, r.b.now_us, (const uint8_t *)cmd, sizeof(cmd) - 1);
  ck_assert_int_eq(harness_judge_commands(&r.post, why, sizeof(why)),
                   HARNESS_INV_COMMANDS);
  ck_assert_ptr_nonnull(strstr(why, "AT+SMSWBOOT=1,1"));
  rig_free(&r);
}
END_TEST

START_TEST(test_judge_remedy_fails_when_the_rerun_fails_or_lies) {
  struct harness_modem_view v = good_view();
  char why[400];
  ck_assert_int_eq(harness_judge_remedy("after E_X and a power cycle", 0, &v,
                                        &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_NONE);
  ck_assert_int_eq(harness_judge_remedy("after E_X and a power cycle",
                                        SQN_E_MODEM_UNSTABLE, &v, &incident_pkg,
                                        why, sizeof(why)),
                   HARNESS_INV_REMEDY);
  ck_assert_ptr_nonnull(strstr(why, "E_MODEM_UNSTABLE"));
  /* A rerun that says success over the old build is no remedy. */
  v.fff.build = 33080;
  ck_assert_int_eq(harness_judge_remedy("after E_X and a power cycle", 0, &v,
                                        &incident_pkg, why, sizeof(why)),
                   HARNESS_INV_REMEDY);
  ck_assert_ptr_nonnull(strstr(why, "package"));
}
END_TEST

START_TEST(test_judge_bounded_fails_past_the_bound_or_stuck) {
  char why[400];
  ck_assert_int_eq(harness_judge_bounded(false, false, 60, why, sizeof(why)),
                   HARNESS_INV_NONE);
  ck_assert_int_eq(harness_judge_bounded(true, false, 60, why, sizeof(why)),
                   HARNESS_INV_BOUNDED);
  ck_assert_int_eq(harness_judge_bounded(false, true, 60, why, sizeof(why)),
                   HARNESS_INV_BOUNDED);
}
END_TEST

/* --- the bridge ----------------------------------------------------------- */

/* A host that sends "AT\r" and is done at the first "OK". */
struct at_host {
  struct harness_bridge *b;
  bool sent, done;
  size_t max_read, reads;
  char got[256];
  size_t got_len;
};

static bool at_done(const void *h) { return ((const struct at_host *)h)->done; }
static uint64_t at_deadline(const void *h) {
  return ((const struct at_host *)h)->sent ? UINT64_MAX : 0;
}
static void at_feed(void *h, uint64_t now_ms, const uint8_t *buf, size_t n) {
  struct at_host *a = h;
  (void)now_ms;
  a->reads++;
  if (n > a->max_read)
    a->max_read = n;
  for (size_t i = 0; i < n && a->got_len + 1 < sizeof(a->got); i++)
    a->got[a->got_len++] = (char)buf[i];
  a->got[a->got_len] = '\0';
  a->done = strstr(a->got, "OK\r\n") != NULL;
}
static void at_tick(void *h, uint64_t now_ms) {
  struct at_host *a = h;
  (void)now_ms;
  if (!a->sent) {
    a->sent = true;
    ck_assert_int_eq(harness_bridge_to_modem(a->b, (const uint8_t *)"AT\r", 3),
                     0);
  }
}
static const struct harness_bridge_host at_host_ops = {at_done, at_deadline,
                                                       at_feed, at_tick};

static unsigned steps_seen;
static void count_step(void *ctx) {
  (void)ctx;
  steps_seen++;
}
static bool stop_after_two(void *ctx) {
  (void)ctx;
  return steps_seen >= 2;
}

START_TEST(test_bridge_read_limit_and_byte_steps) {
  struct rig r;
  struct at_host a;
  rig_init(&r, "healthy");
  memset(&a, 0, sizeof(a));
  a.b = &r.b;
  r.b.host = &at_host_ops;
  r.b.h = &a;
  r.b.read_limit = 1;
  r.b.byte_step = 1;
  r.b.on_byte_step = count_step;
  steps_seen = 0;
  ck_assert_int_eq(harness_bridge_run(&r.b, 10ull * 1000000),
                   HARNESS_BRIDGE_DONE);
  ck_assert(a.done);
  ck_assert_uint_eq(a.max_read, 1);       /* never more than the limit */
  ck_assert_uint_ge(a.reads, 4);          /* "OK\r\n" at least */
  ck_assert_uint_eq(steps_seen, 3);       /* "AT\r": one cut per byte */
  ck_assert_uint_eq(r.b.host_bytes, 3);
  rig_free(&r);
}
END_TEST

START_TEST(test_bridge_stop_hook_and_stuck) {
  struct rig r;
  struct at_host a;
  rig_init(&r, "healthy");
  memset(&a, 0, sizeof(a));
  a.b = &r.b;
  r.b.host = &at_host_ops;
  r.b.h = &a;
  r.b.byte_step = 1;
  r.b.on_byte_step = count_step;
  r.b.stopped = stop_after_two;
  steps_seen = 0;
  ck_assert_int_eq(harness_bridge_run(&r.b, 10ull * 1000000),
                   HARNESS_BRIDGE_STOPPED);
  ck_assert_uint_eq(r.b.host_bytes, 2); /* the third byte never went */
  ck_assert(!a.done);
  /* No stop now, but a modem that never answers a half line: nobody has
   * a deadline. */
  r.b.stopped = NULL;
  r.b.byte_step = 0;
  a.sent = true;
  harness_bridge_drop_all(&r.b);
  ck_assert_int_eq(harness_bridge_run(&r.b, 10ull * 1000000),
                   HARNESS_BRIDGE_STUCK);
  rig_free(&r);
}
END_TEST

static Suite *judge_suite(void) {
  Suite *s = suite_create("harness_judge");
  TCase *tc = tcase_create("invariants");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_judge_success_with_the_package_running_passes);
  tcase_add_test(tc, test_judge_powered_fails_on_a_modem_that_is_off);
  tcase_add_test(tc, test_judge_smod_fff_fails_on_a_modem_left_in_recovery);
  tcase_add_test(tc, test_judge_fff_valid_fails_on_an_invalid_slot);
  tcase_add_test(tc,
                 test_judge_package_fails_on_the_old_build_of_the_same_version);
  tcase_add_test(tc, test_judge_commands_fails_on_smswboot_1_before_success);
  tcase_add_test(tc, test_judge_remedy_fails_when_the_rerun_fails_or_lies);
  tcase_add_test(tc, test_judge_bounded_fails_past_the_bound_or_stuck);
  suite_add_tcase(s, tc);
  TCase *br = tcase_create("bridge");
  tcase_set_timeout(br, 30);
  tcase_add_test(br, test_bridge_read_limit_and_byte_steps);
  tcase_add_test(br, test_bridge_stop_hook_and_stuck);
  suite_add_tcase(s, br);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(judge_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
