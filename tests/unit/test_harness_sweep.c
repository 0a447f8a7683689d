/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-cut sweeps and fault campaigns (harness/src/sweep.c, campaign.c):
 * a clean sweep passes; sweeps catch broken flash-write orderings
 * (simulated by the link's persist filter); snapshot restarts agree with
 * replays; campaigns are reproducible from their seeds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "check_ext.h"
#include "sweep.h"
#include "sim/state_file.h"

static struct harness_pkg pkg;
static struct sim_state start;
static char *out_buf;
static size_t out_len;

static void setup(void) {
  char err[512];
  ck_assert_msg(harness_pkg_spec_build("size=131072", SIM_PROFILE_MONARCH1,
                                       &pkg, err, sizeof(err)) == 0,
                "%s", err);
  memset(&start, 0, sizeof(start));
  ck_assert_msg(sim_state_load(SQN_FIXTURES "/states/healthy.json", &start,
                               err, sizeof(err)) == 0,
                "%s", err);
}

static void teardown(void) {
  harness_pkg_free(&pkg);
  sim_state_release(&start);
  free(out_buf);
  out_buf = NULL;
}

static int run_sweep(struct harness_sweep_opts *o,
                     struct harness_sweep_stats *st) {
  free(out_buf);
  out_buf = NULL;
  FILE *f = open_memstream(&out_buf, &out_len);
  ck_assert_ptr_nonnull(f);
  o->profile = SIM_PROFILE_MONARCH1;
  o->pkg = &pkg;
  o->start = &start;
  o->bound_us = 3600ull * 1000000ull;
  o->out = f;
  int rc = harness_sweep(o, st);
  fclose(f);
  return rc;
}

START_TEST(test_sweep_clean_package_every_point_recovers) {
  struct harness_sweep_opts o = {.stride = 3, .double_every = 4, .seed = 7};
  struct harness_sweep_stats st;
  ck_assert_int_eq(run_sweep(&o, &st), 0);
  ck_assert_uint_gt(st.points, 100); /* AT + STP frames + flash writes */
  ck_assert_uint_eq(st.selected, (st.points + 2) / 3);
  ck_assert_uint_eq(st.failed, 0);
  ck_assert_uint_eq(st.recovered + st.reported, st.selected);
  ck_assert_uint_gt(st.doubles, 0);
}
END_TEST

START_TEST(test_sweep_skip_invalidate_mutation_is_caught_as_torn) {
  struct harness_sweep_opts o = {.stride = 1,
                                 .mutation = HARNESS_MUTATION_SKIP_INVALIDATE,
                                 .max_transcripts = 1,
                                 .repro = "sqn-scenario sweep"};
  struct harness_sweep_stats st;
  ck_assert_int_eq(run_sweep(&o, &st), 1);
  ck_assert_uint_gt(st.failed, 0);
  ck_assert_ptr_nonnull(strstr(out_buf, "TORN: the flash says the fff slot"));
  ck_assert_ptr_nonnull(strstr(out_buf, "reproduce: sqn-scenario sweep --only"));
  /* The transcript of the first failure is printed. */
  ck_assert_ptr_nonnull(strstr(out_buf, "POWER CUT at cut point"));
}
END_TEST

START_TEST(test_sweep_valid_early_mutation_is_caught_as_torn) {
  struct harness_sweep_opts o = {.stride = 5,
                                 .mutation = HARNESS_MUTATION_VALID_EARLY};
  struct harness_sweep_stats st;
  ck_assert_int_eq(run_sweep(&o, &st), 1);
  ck_assert_uint_gt(st.failed, 0);
  ck_assert_ptr_nonnull(strstr(out_buf, "half overwritten"));
}
END_TEST

/* The model's own broken ordering (SIM_DEBUG_MARK_VALID_EARLY), with the
 * shadow off: only the behaviour after the cut can catch it, and does. From
 * a bootloader-only modem (boot select FFF, no valid image) the package
 * goes through the ELF; a cut inside the fff record leaves a flash that
 * claims a valid fff, the modem boots into the half-written image and
 * stays silent, and the remedy rerun fails. */
START_TEST(test_sweep_model_valid_early_is_caught_as_bricked) {
  char err[512];
  sim_state_release(&start);
  memset(&start, 0, sizeof(start));
  ck_assert_msg(sim_state_load(SQN_FIXTURES "/states/ffh-only.json", &start,
                               err, sizeof(err)) == 0,
                "%s", err);
  struct harness_sweep_opts o = {.stride = 7,
                                 .mutation = HARNESS_MUTATION_MODEL_VALID_EARLY,
                                 .max_transcripts = 1,
                                 .repro = "sqn-scenario sweep"};
  struct harness_sweep_stats st;
  ck_assert_int_eq(run_sweep(&o, &st), 1);
  ck_assert_uint_gt(st.failed, 0);
  ck_assert_uint_gt(st.recovered + st.reported, 0); /* not every point */
  ck_assert_ptr_nonnull(strstr(out_buf, "not rerunnable"));
  ck_assert_ptr_nonnull(strstr(out_buf, "E_MODEM_NOT_DETECTED"));
  ck_assert_ptr_null(strstr(out_buf, "TORN:"));
  ck_assert_ptr_nonnull(strstr(out_buf, "boot hangs"));
  /* The same sweep with the faithful model passes: the flag did it. */
  o.mutation = HARNESS_MUTATION_NONE;
  o.max_transcripts = 0;
  ck_assert_int_eq(run_sweep(&o, &st), 0);
  ck_assert_uint_eq(st.failed, 0);
}
END_TEST

START_TEST(test_sweep_replay_and_snapshot_agree_on_every_point) {
  struct harness_sweep_opts a = {.stride = 4, .double_every = 3, .seed = 3};
  struct harness_sweep_opts b = a;
  b.replay = true;
  struct harness_sweep_stats sa, sb;
  ck_assert_int_eq(run_sweep(&a, &sa), 0);
  ck_assert_int_eq(run_sweep(&b, &sb), 0);
  ck_assert_uint_eq(sa.points, sb.points);
  ck_assert_uint_eq(sa.selected, sb.selected);
  ck_assert_uint_eq(sa.recovered, sb.recovered);
  ck_assert_uint_eq(sa.reported, sb.reported);
  ck_assert_uint_eq(sa.doubles, sb.doubles);
}
END_TEST

/* A JUnit file without its wall-clock times (malloc'd). */
static char *junit_untimed(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  size_t cap = 1 << 16, len = 0;
  char *b = malloc(cap);
  ck_assert_ptr_nonnull(b);
  int ch;
  while ((ch = fgetc(f)) != EOF) {
    if (len + 2 >= cap) {
      cap *= 2;
      b = realloc(b, cap);
      ck_assert_ptr_nonnull(b);
    }
    b[len++] = (char)ch;
    b[len] = '\0';
    /* drop  time="..." */
    if (len >= 7 && memcmp(b + len - 7, " time=\"", 7) == 0) {
      len -= 7;
      while ((ch = fgetc(f)) != EOF && ch != '"')
        ;
    }
  }
  b[len] = '\0';
  fclose(f);
  return b;
}

/* One sweep's report and per-point results (JUnit without times). */
static void sweep_report(struct harness_sweep_opts o,
                         struct harness_sweep_stats *st, int want_rc,
                         char **report, char **junit) {
  char path[] = "/tmp/test_sweep_junit_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  o.junit = path;
  ck_assert_int_eq(run_sweep(&o, st), want_rc);
  *report = strdup(out_buf);
  *junit = junit_untimed(path);
  unlink(path);
}

/* Shared reruns (docs/sweeps.md) give every point the verdict a rerun of
 * its own gives, failures and transcripts included, with fewer runs. */
START_TEST(test_sweep_shared_reruns_agree_with_rerun_all) {
  struct harness_sweep_opts o = {.stride = 1, .double_every = 3, .seed = 5,
                                 .max_transcripts = 2};
  if (_i == 1)
    o.mutation = HARNESS_MUTATION_SKIP_INVALIDATE;
  struct harness_sweep_stats sa, sb;
  char *ra, *ja, *rb, *jb;
  int want = _i == 1 ? 1 : 0;
  sweep_report(o, &sa, want, &ra, &ja);
  o.rerun_all = true;
  sweep_report(o, &sb, want, &rb, &jb);
  ck_assert_str_eq(ra, rb);
  ck_assert_str_eq(ja, jb);
  ck_assert_uint_eq(sa.selected, sb.selected);
  ck_assert_uint_eq(sa.failed, sb.failed);
  ck_assert_uint_eq(sa.doubles, sb.doubles);
  if (_i == 0) {
    ck_assert_uint_ge(sb.runs, sb.selected + sb.doubles);
    ck_assert_uint_lt(sa.runs, sb.runs / 2);
  }
  free(ra);
  free(ja);
  free(rb);
  free(jb);
}
END_TEST

/* --jobs 1, 2 and 4 write the same report and the same per-point results. */
START_TEST(test_sweep_jobs_give_identical_reports) {
  struct harness_sweep_opts o = {.stride = 2, .double_every = 3, .seed = 9,
                                 .max_transcripts = 1};
  if (_i == 1)
    o.mutation = HARNESS_MUTATION_VALID_EARLY;
  int want = _i == 1 ? 1 : 0;
  struct harness_sweep_stats s1, s;
  char *r1, *j1;
  o.jobs = 1;
  sweep_report(o, &s1, want, &r1, &j1);
  for (unsigned jobs = 2; jobs <= 4; jobs += 2) {
    char *r, *j;
    o.jobs = jobs;
    sweep_report(o, &s, want, &r, &j);
    ck_assert_msg(strcmp(r, r1) == 0, "--jobs %u report differs", jobs);
    ck_assert_msg(strcmp(j, j1) == 0, "--jobs %u junit differs", jobs);
    ck_assert_uint_eq(s.recovered, s1.recovered);
    ck_assert_uint_eq(s.failed, s1.failed);
    ck_assert_uint_eq(s.doubles, s1.doubles);
    free(r);
    free(j);
  }
  free(r1);
  free(j1);
}
END_TEST

START_TEST(test_sweep_shards_partition_the_points) {
  struct harness_sweep_stats all, s1, s2, s3;
  struct harness_sweep_opts o = {.stride = 2, .double_every = 0};
  ck_assert_int_eq(run_sweep(&o, &all), 0);
  o.shard = (struct harness_shard){1, 3};
  ck_assert_int_eq(run_sweep(&o, &s1), 0);
  o.shard = (struct harness_shard){2, 3};
  ck_assert_int_eq(run_sweep(&o, &s2), 0);
  o.shard = (struct harness_shard){3, 3};
  ck_assert_int_eq(run_sweep(&o, &s3), 0);
  ck_assert_uint_eq(s1.selected + s2.selected + s3.selected, all.selected);
}
END_TEST

START_TEST(test_sweep_byte_steps_add_cut_points) {
  struct harness_sweep_opts o = {.stride = 1000000};
  struct harness_sweep_stats frames, bytes;
  ck_assert_int_eq(run_sweep(&o, &frames), 0);
  o.byte_step = 4096;
  ck_assert_int_eq(run_sweep(&o, &bytes), 0);
  /* At least one cut per 4 KiB of the 128 KiB push. */
  ck_assert_uint_ge(bytes.points, frames.points + 32);
}
END_TEST

START_TEST(test_sweep_only_past_the_end_is_an_error) {
  struct harness_sweep_opts o = {.only = 1000000};
  struct harness_sweep_stats st;
  ck_assert_int_eq(run_sweep(&o, &st), -1);
  ck_assert_ptr_nonnull(strstr(out_buf, "--only 1000000"));
}
END_TEST

START_TEST(test_shard_parse_bad_text_is_rejected) {
  struct harness_shard s;
  ck_assert_int_eq(harness_shard_parse("2/3", &s), 0);
  ck_assert_uint_eq(s.k, 2);
  ck_assert_uint_eq(s.m, 3);
  ck_assert_int_eq(harness_shard_parse("0/3", &s), -1);
  ck_assert_int_eq(harness_shard_parse("4/3", &s), -1);
  ck_assert_int_eq(harness_shard_parse("1-3", &s), -1);
  ck_assert_int_eq(harness_shard_parse("1/3x", &s), -1);
}
END_TEST

START_TEST(test_pkg_spec_unknown_item_is_named) {
  struct harness_pkg p;
  char err[512];
  ck_assert_int_eq(harness_pkg_spec_build("size=4096,colour=red",
                                          SIM_PROFILE_MONARCH1, &p, err,
                                          sizeof(err)),
                   -1);
  ck_assert_ptr_nonnull(strstr(err, "colour"));
}
END_TEST

START_TEST(test_campaign_faults_same_seed_same_schedule) {
  struct sim_fault a[HARNESS_CAMPAIGN_MAX_FAULTS], b[HARNESS_CAMPAIGN_MAX_FAULTS];
  for (uint64_t r = 0; r < 200; r++) {
    uint64_t seed = harness_campaign_run_seed(42, r);
    unsigned na = harness_campaign_faults(seed, pkg.len, a);
    unsigned nb = harness_campaign_faults(seed, pkg.len, b);
    ck_assert_uint_eq(na, nb);
    ck_assert_uint_ge(na, 1);
    ck_assert_uint_le(na, HARNESS_CAMPAIGN_MAX_FAULTS);
    ck_assert_int_eq(memcmp(a, b, na * sizeof(a[0])), 0);
    for (unsigned i = 0; i < na; i++) {
      char err[256];
      ck_assert_msg(sim_fault_check(&a[i], err, sizeof(err)) == 0,
                    "seed %llx fault %u: %s", (unsigned long long)seed, i,
                    err);
    }
  }
  ck_assert_uint_ne(harness_campaign_run_seed(42, 0),
                    harness_campaign_run_seed(42, 1));
}
END_TEST

START_TEST(test_campaign_smoke_with_self_check_passes) {
  free(out_buf);
  FILE *f = open_memstream(&out_buf, &out_len);
  struct harness_campaign_opts o = {.profile = SIM_PROFILE_MONARCH1,
                                    .pkg = &pkg,
                                    .start = &start,
                                    .seed = 5,
                                    .runs = 60,
                                    .shard = {1, 1},
                                    .self_check = true,
                                    .bound_us = 3600ull * 1000000ull,
                                    .out = f};
  struct harness_campaign_stats st;
  int rc = harness_campaign(&o, &st);
  fclose(f);
  ck_assert_msg(rc == 0, "%s", out_buf);
  ck_assert_uint_eq(st.runs, 60);
  ck_assert_uint_eq(st.recovered + st.reported, 60);
  ck_assert_uint_gt(st.reported, 0); /* the catalogue does bite */
  ck_assert_uint_ge(st.self_checked, 2);
}
END_TEST

START_TEST(test_campaign_junit_is_written_per_shard) {
  char path[] = "/tmp/sqn-sweep-junit-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  free(out_buf);
  FILE *f = open_memstream(&out_buf, &out_len);
  struct harness_campaign_opts o = {.profile = SIM_PROFILE_MONARCH1,
                                    .pkg = &pkg,
                                    .start = &start,
                                    .seed = 9,
                                    .runs = 10,
                                    .shard = {2, 2},
                                    .bound_us = 3600ull * 1000000ull,
                                    .junit = path,
                                    .out = f};
  struct harness_campaign_stats st;
  ck_assert_int_eq(harness_campaign(&o, &st), 0);
  fclose(f);
  ck_assert_uint_eq(st.runs, 5);
  size_t len;
  uint8_t *x = sqn_read_file(path, &len);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(strstr((char *)x, "tests=\"5\" failures=\"0\""));
  ck_assert_ptr_nonnull(strstr((char *)x, "shard 2/2"));
  ck_assert_ptr_nonnull(strstr((char *)x, "</testsuites>"));
  free(x);
  unlink(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("harness_sweep");
  TCase *tc = tcase_create("sweep");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_sweep_clean_package_every_point_recovers);
  tcase_add_test(tc, test_sweep_skip_invalidate_mutation_is_caught_as_torn);
  tcase_add_test(tc, test_sweep_valid_early_mutation_is_caught_as_torn);
  tcase_add_test(tc, test_sweep_model_valid_early_is_caught_as_bricked);
  tcase_add_test(tc, test_sweep_replay_and_snapshot_agree_on_every_point);
  tcase_add_test(tc, test_sweep_shards_partition_the_points);
  tcase_add_loop_test(tc, test_sweep_shared_reruns_agree_with_rerun_all, 0, 2);
  tcase_add_loop_test(tc, test_sweep_jobs_give_identical_reports, 0, 2);
  tcase_add_test(tc, test_sweep_byte_steps_add_cut_points);
  tcase_add_test(tc, test_sweep_only_past_the_end_is_an_error);
  tcase_add_test(tc, test_shard_parse_bad_text_is_rejected);
  tcase_add_test(tc, test_pkg_spec_unknown_item_is_named);
  tcase_add_test(tc, test_campaign_faults_same_seed_same_schedule);
  tcase_add_test(tc, test_campaign_smoke_with_self_check_passes);
  tcase_add_test(tc, test_campaign_junit_is_written_per_shard);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
