/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who owns the state file, and what happens when it cannot be written
 * (issue 14): sqn-sim against the file system, over a real pty.
 *
 *   - one emulator per state file: a second is refused, naming the first;
 *   - a symlinked --state is updated where it points; stale temp files of
 *     a killed emulator go at the next start; --trace / --link may not be
 *     inputs; --link does not take over a live emulator's pty;
 *   - stop signals arriving during the final save are held: exit 0 and the
 *     --link removed, also on SIGHUP;
 *   - a save that fails (full disk, read-only folder) makes the modem
 *     vanish: the host never sees success and the state file still loads
 *     with the flash as last saved;
 *   - one save per model step, before the reply: the first BLOCK of a push
 *     changes the flash several times and costs one save, which is on disk
 *     when its ack reaches the host;
 *   - kill -9 at random moments of an upgrade (seeded): the state file
 *     always loads, no temp file survives the next start, and the updater
 *     run again finishes the upgrade (exit 0). SQN_KILL9_RUNS sets the
 *     count (a small default; the "long" ctest runs 200).
 *
 * Every wait is bounded; nothing sleeps waiting for an event.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_ext.h"
#include "pty_util.h"
#include "sim/state_file.h"
#include "sqnup/err.h"
#include "sqnup/stpm.h"
#include "sqnup/transport.h"

static char out[65536];
static char pkgdir[256], pkg[512];
static char st_root[256]; /* the session's temp root (pty_util.h) */

#define ASSERT_SHOW(st, key, want)                                           \
  do {                                                                       \
    char v_[128];                                                            \
    ck_assert_msg(pty_show_get((st), (key), v_, sizeof v_) == 0,             \
                  "--show --json has no %s", (key));                         \
    ck_assert_msg(strcmp(v_, (want)) == 0, "%s is '%s', want '%s'", (key),   \
                  v_, (want));                                               \
  } while (0)

static void st_package(void) {
  if (pkg[0])
    return;
  pty_tmpdir(pkgdir, sizeof pkgdir);
  snprintf(pkg, sizeof pkg, "%s/lr5.dup", pkgdir);
  const char *argv[] = {SQN_DUP_BIN, "build", "--version", "5.2.0.0",
                        "--build", "48829", "--size", "65536", "-o", pkg,
                        NULL};
  ck_assert_msg(pty_run(argv, out, sizeof out, 20) == 0, "sqn-dup: %s", out);
}

static void st_copy(const char *from, const char *to) {
  size_t n;
  uint8_t *buf = sqn_read_file(from, &n);
  ck_assert_msg(buf != NULL, "%s", from);
  FILE *f = fopen(to, "wb");
  ck_assert_msg(f != NULL, "%s: %s", to, strerror(errno));
  ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
  free(buf);
}

/* A fresh folder (dir) holding fixtures/states/`fixture`.json as s.json
 * (state). */
static void st_fresh_state(char *dir, size_t dcap, char *state, size_t scap,
                           const char *fixture) {
  char from[512];
  pty_tmpdir(dir, dcap);
  snprintf(state, scap, "%s/s.json", dir);
  snprintf(from, sizeof from, "%s/states/%s.json", SQN_FIXTURES, fixture);
  st_copy(from, state);
}

/* A running sqn-sim on a state file used in place. */
struct st_sim {
  pid_t pid;
  char pty[256];
  char err[512]; /* its stderr, in a file */
};

/* Start sqn-sim with argv (after the binary), NULL-terminated. With
 * `uid` > 0 it runs as that user (to make a folder read-only for it when
 * the test runs as root). Returns 0 with the pty line read, or the exit
 * status (>0) if it ended before printing one (bounded: 10 s). */
static int st_start(struct st_sim *s, const char *dir, uid_t uid,
                    const char *const *args) {
  const char *argv[40];
  int n = 0, pfd[2];
  argv[n++] = SQN_SIM_BIN;
  for (; *args && n < 38; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  memset(s, 0, sizeof *s);
  snprintf(s->err, sizeof s->err, "%s/sim-%d.err", dir, (int)pty_now() % 997);
  ck_assert_int_eq(pipe(pfd), 0);
  s->pid = fork();
  ck_assert_int_ge(s->pid, 0);
  if (s->pid == 0) {
    int e = open(s->err, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    dup2(pfd[1], 1);
    if (e >= 0)
      dup2(e, 2);
    close(pfd[0]);
    close(pfd[1]);
    if (uid > 0 && (setgid(uid) != 0 || setuid(uid) != 0))
      _exit(126);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(pfd[1]);
  /* Listed for pty_util's session end, which kills what a failed test
   * left running (its arguments name the root). */
  char list[300];
  if (!st_root[0]) { /* `dir` is a pty_tmpdir: its parent is the root */
    snprintf(st_root, sizeof st_root, "%s", dir);
    *strrchr(st_root, '/') = 0;
  }
  snprintf(list, sizeof list, "%s/sims.pids", st_root);
  FILE *pl = fopen(list, "a");
  if (pl) {
    fprintf(pl, "%ld\n", (long)s->pid);
    fclose(pl);
  }
  char line[256];
  size_t got = 0;
  double deadline = pty_now() + 10;
  while (got < sizeof line - 1 && !memchr(line, '\n', got)) {
    int ms = (int)((deadline - pty_now()) * 1000);
    ck_assert_msg(ms > 0, "sqn-sim printed no pty line within 10 s");
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
      continue;
    ssize_t r = read(pfd[0], line + got, sizeof line - 1 - got);
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(pfd[0]);
  line[got] = 0;
  if (strncmp(line, "pty: /dev/", 10) != 0) {
    int st;
    waitpid(s->pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  *strchr(line, '\n') = 0;
  snprintf(s->pty, sizeof s->pty, "%s", line + 5);
  return 0;
}

/* Wait (bounded) for the emulator; its exit code, 128+signal, or -1. */
static int st_wait(struct st_sim *s, double bound_s) {
  double end = pty_now() + bound_s;
  int st;
  for (;;) {
    if (waitpid(s->pid, &st, WNOHANG) == s->pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (pty_now() > end) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &st, 0);
      return -1;
    }
    struct timespec ts = {0, 1000000}; /* reap poll, not an event wait */
    nanosleep(&ts, NULL);
  }
}

static void st_stderr(const struct st_sim *s, char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen(s->err, "r");
  if (!f)
    return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = 0;
  fclose(f);
}

/* sqn-update against the emulator; its exit status. */
static int st_update(const struct st_sim *s) {
  const char *argv[] = {SQN_UPDATE_BIN, "--port", s->pty, "--timeout-scale",
                        "0.2", pkg, NULL};
  return pty_run(argv, out, sizeof out, 60);
}

static int st_count_temps(const char *dir) {
  int n = 0;
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, SIM_STATE_TMP_INFIX))
      n++;
  closedir(d);
  return n;
}

/* ---- ownership ---- */

START_TEST(test_state_second_emulator_is_refused_and_nothing_lost) {
  char dir[256], state[300], err[2048];
  struct st_sim a, b;
  st_package();
  st_fresh_state(dir, sizeof dir, state, sizeof state, "healthy");
  const char *args[] = {"--state", state, "--time-scale", "0.02", NULL};
  ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
  /* The second one is refused, naming the first, while the first runs. */
  int rc = st_start(&b, dir, 0, args);
  st_stderr(&b, err, sizeof err);
  ck_assert_msg(rc == 5, "second sqn-sim: status %d: %s", rc, err);
  char want[64];
  snprintf(want, sizeof want, "pid %ld", (long)a.pid);
  ck_assert_msg(strstr(err, want) != NULL, "no '%s' in: %s", want, err);
  /* The first completes an upgrade; the refused one undid nothing. */
  ck_assert_msg(st_update(&a) == 0, "sqn-update: %s", out);
  kill(a.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&a, 10), 0);
  ASSERT_SHOW(state, "fff.version", "5.2.0.0");
  ASSERT_SHOW(state, "upgrade_status", "success");
  /* Free again once the first has gone. */
  ck_assert_int_eq(st_start(&b, dir, 0, args), 0);
  kill(b.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&b, 10), 0);
}
END_TEST

START_TEST(test_state_symlink_is_followed_and_stale_temps_go) {
  char dir[256], real[300], link[300], tmp[320];
  struct st_sim a;
  struct stat st;
  st_package();
  pty_tmpdir(dir, sizeof dir);
  snprintf(real, sizeof real, "%s/real.json", dir);
  snprintf(link, sizeof link, "%s/link.json", dir);
  st_copy(SQN_FIXTURES "/states/healthy.json", real);
  ck_assert_int_eq(symlink("real.json", link), 0);
  /* What a kill -9 in the middle of a save leaves behind. */
  snprintf(tmp, sizeof tmp, "%s/real.json.tmp.Ab12Cd", dir);
  st_copy(SQN_FIXTURES "/states/healthy.json", tmp);
  const char *args[] = {"--state", link, "--time-scale", "0.02", NULL};
  ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
  ck_assert_msg(lstat(tmp, &st) != 0, "stale temp file still there");
  ck_assert_msg(st_update(&a) == 0, "sqn-update: %s", out);
  kill(a.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&a, 10), 0);
  ck_assert_int_eq(lstat(link, &st), 0);
  ck_assert_msg(S_ISLNK(st.st_mode), "--state symlink replaced by a file");
  ASSERT_SHOW(real, "fff.version", "5.2.0.0");
  ck_assert_int_eq(st_count_temps(dir), 0);
}
END_TEST

START_TEST(test_state_outputs_may_not_be_inputs) {
  char dir[256], state[300], faults[300], err[2048];
  struct st_sim a;
  st_fresh_state(dir, sizeof dir, state, sizeof state, "healthy");
  snprintf(faults, sizeof faults, "%s/f.yaml", dir);
  FILE *f = fopen(faults, "w");
  ck_assert_ptr_nonnull(f);
  fputs("- {when: at, match: \"AT+CFUN?\", do: error}\n", f);
  fclose(f);
  const char *a1[] = {"--state", state, "--trace", state, NULL};
  int rc = st_start(&a, dir, 0, a1);
  st_stderr(&a, err, sizeof err);
  ck_assert_msg(rc == 2 && strstr(err, "--trace"), "status %d: %s", rc, err);
  const char *a2[] = {"--state", state, "--faults", faults, "--trace", faults,
                      NULL};
  rc = st_start(&a, dir, 0, a2);
  st_stderr(&a, err, sizeof err);
  ck_assert_msg(rc == 2 && strstr(err, "--faults file"), "status %d: %s", rc,
                err);
  /* Both inputs are intact. */
  ASSERT_SHOW(state, "fff.version", "5.1.1.0");
  size_t n;
  char *text = (char *)sqn_read_file(faults, &n);
  ck_assert_ptr_nonnull(text);
  ck_assert_msg(strstr(text, "AT+CFUN?") != NULL, "faults file changed");
  free(text);
  /* A --link that is the (symlinked) state file. */
  char link[300];
  snprintf(link, sizeof link, "%s/l.json", dir);
  ck_assert_int_eq(symlink("s.json", link), 0);
  const char *a3[] = {"--state", link, "--link", link, NULL};
  rc = st_start(&a, dir, 0, a3);
  st_stderr(&a, err, sizeof err);
  ck_assert_msg(rc == 2 && strstr(err, "--link"), "status %d: %s", rc, err);
  struct stat st;
  ck_assert_int_eq(lstat(link, &st), 0);
  ck_assert(S_ISLNK(st.st_mode));
}
END_TEST

START_TEST(test_state_link_of_a_live_emulator_is_not_taken) {
  char dir[256], s1[300], s2[300], link[300], err[2048], target[256];
  struct st_sim a, b;
  pty_tmpdir(dir, sizeof dir);
  snprintf(s1, sizeof s1, "%s/a.json", dir);
  snprintf(s2, sizeof s2, "%s/b.json", dir);
  snprintf(link, sizeof link, "%s/modem", dir);
  const char *a1[] = {"--state", s1, "--link", link, "--time-scale", "0",
                      NULL};
  const char *a2[] = {"--state", s2, "--link", link, "--time-scale", "0",
                      NULL};
  ck_assert_int_eq(st_start(&a, dir, 0, a1), 0);
  int rc = st_start(&b, dir, 0, a2);
  st_stderr(&b, err, sizeof err);
  ck_assert_msg(rc != 0 && strstr(err, "in use"), "status %d: %s", rc, err);
  ssize_t n = readlink(link, target, sizeof target - 1);
  ck_assert_int_gt(n, 0);
  target[n] = 0;
  ck_assert_str_eq(target, a.pty);
  /* SIGHUP (a closed terminal) stops it cleanly and removes the link. */
  kill(a.pid, SIGHUP);
  ck_assert_int_eq(st_wait(&a, 10), 0);
  struct stat st;
  ck_assert_msg(lstat(link, &st) != 0, "--link left behind after SIGHUP");
  /* A dangling link (a dead emulator's) is replaced. */
  ck_assert_int_eq(symlink("/dev/pts/nonexistent-4242", link), 0);
  ck_assert_int_eq(st_start(&b, dir, 0, a2), 0);
  kill(b.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&b, 10), 0);
}
END_TEST

/* A state file with a full 4 MiB store: saving it takes long enough for a
 * second signal to land inside the final save. */
static void st_big_state(const char *path) {
  struct sim_state st;
  char err[256];
  sim_state_factory(&st, SIM_PROFILE_MONARCH1);
  st.fs_store_len = SIM_FS_STORE_MAX;
  st.fs_store = malloc(st.fs_store_len);
  ck_assert_ptr_nonnull(st.fs_store);
  for (uint32_t i = 0; i < st.fs_store_len; i++)
    st.fs_store[i] = (uint8_t)(i * 2654435761u >> 24);
  ck_assert_msg(sim_state_save(path, &st, err, sizeof err) == 0, "%s", err);
  sim_state_release(&st);
}

START_TEST(test_state_second_signal_during_save_is_held) {
  char dir[256], state[300], link[300];
  struct st_sim a;
  struct stat st;
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  snprintf(link, sizeof link, "%s/modem", dir);
  st_big_state(state);
  static const long gaps_us[] = {0, 200, 1000, 3000, 10000, 30000};
  for (int i = 0; i < 12; i++) {
    const char *args[] = {"--state", state, "--link", link, "--time-scale",
                          "0", NULL};
    ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
    kill(a.pid, i % 2 ? SIGINT : SIGTERM);
    struct timespec ts = {0, gaps_us[i % 6] * 1000};
    nanosleep(&ts, NULL); /* the moment of the second signal */
    kill(a.pid, i % 3 ? SIGTERM : SIGINT);
    int rc = st_wait(&a, 20);
    ck_assert_msg(rc == 0, "run %d: second signal %ld us later: status %d", i,
                  gaps_us[i % 6], rc);
    ck_assert_msg(lstat(link, &st) != 0, "run %d: --link left behind", i);
  }
  ck_assert_int_eq(st_count_temps(dir), 0);
  struct sim_state ss;
  char err[256];
  ck_assert_msg(sim_state_load(state, &ss, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(ss.fs_store_len, SIM_FS_STORE_MAX);
  sim_state_release(&ss);
}
END_TEST

/* ---- saves that fail ---- */

/* The modem must vanish: sqn-update fails (never success), sqn-sim exits
 * 4 naming the cause, and the state file loads with the flash as it was. */
static void st_expect_vanish(struct st_sim *a, const char *state,
                             const char *why) {
  char err[2048];
  int urc = st_update(a);
  ck_assert_msg(urc != 0, "%s: sqn-update reported success:\n%s", why, out);
  int rc = st_wait(a, 20);
  st_stderr(a, err, sizeof err);
  ck_assert_msg(rc == 4, "%s: sqn-sim status %d: %s", why, rc, err);
  ck_assert_msg(strstr(err, "vanishes") != NULL, "%s: %s", why, err);
  struct sim_state ss;
  char lerr[256];
  ck_assert_msg(sim_state_load(state, &ss, lerr, sizeof lerr) == 0, "%s: %s",
                why, lerr);
  ck_assert_str_eq(ss.fff.version, "5.1.1.0");
  ck_assert_str_eq(ss.upgrade_status, "No report");
  ck_assert_int_eq(ss.boot_select, SIM_BOOT_FFF);
  sim_state_release(&ss);
}

START_TEST(test_state_full_disk_makes_the_modem_vanish) {
  char dir[256], state[300], fill[300];
  struct st_sim a;
  st_package();
  pty_tmpdir(dir, sizeof dir);
  if (geteuid() != 0 ||
      mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700") != 0) {
    fprintf(stderr, "ENOSPC test skipped: cannot mount a tmpfs (%s)\n",
            geteuid() ? "not root" : strerror(errno));
    return;
  }
  snprintf(state, sizeof state, "%s/s.json", dir);
  snprintf(fill, sizeof fill, "%s/fill", dir);
  st_copy(SQN_FIXTURES "/states/healthy.json", state);
  const char *args[] = {"--state", state, "--time-scale", "0.02", NULL};
  ck_assert_int_eq(st_start(&a, pkgdir, 0, args), 0);
  /* Fill the disk. */
  FILE *f = fopen(fill, "wb");
  ck_assert_ptr_nonnull(f);
  static char block[4096];
  while (fwrite(block, 1, sizeof block, f) == sizeof block)
    ;
  fclose(f);
  st_expect_vanish(&a, state, "full disk");
  ck_assert_int_eq(st_count_temps(dir), 0);
  umount2(dir, MNT_DETACH);
}
END_TEST

START_TEST(test_state_read_only_folder_makes_the_modem_vanish) {
  char dir[256], state[300];
  struct st_sim a;
  st_package();
  /* As root, permissions do not stop us: run the emulator as nobody, in
   * a folder it can reach (the session's temp root is owner-only). */
  uid_t uid = geteuid() == 0 ? 65534 : 0;
  if (uid) {
    snprintf(dir, sizeof dir, "/tmp/sqn-ro-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
  } else {
    pty_tmpdir(dir, sizeof dir);
  }
  snprintf(state, sizeof state, "%s/s.json", dir);
  st_copy(SQN_FIXTURES "/states/healthy.json", state);
  ck_assert_int_eq(chmod(dir, 0777), 0);
  ck_assert_int_eq(chmod(state, 0666), 0);
  ck_assert_int_eq(chmod(pkgdir, 0777), 0);
  const char *args[] = {"--state", state, "--time-scale", "0.02", NULL};
  int rc = st_start(&a, pkgdir, uid, args);
  ck_assert_msg(rc == 0, "sqn-sim did not start (status %d)", rc);
  ck_assert_int_eq(chmod(dir, 0555), 0);
  st_expect_vanish(&a, state, "read-only folder");
  chmod(dir, 0755);
  if (uid) {
    unlink(state);
    rmdir(dir);
  }
}
END_TEST

/* ---- one save per step ---- */

/* The host side of a push that watches the state file: before each frame it
 * writes (that is, once the answer to the previous one is in), it counts
 * the saves since the previous frame and loads the file. A save is a temp
 * file renamed onto the state; inotify reports each by its temp name (the
 * renames onto the same name could be merged into one event). */
struct st_push {
  struct sqn_posix_tty tty;
  struct sqn_stpm stpm;
  const uint8_t *pkg;
  size_t len;
  int ino;                 /* inotify fd on the state's folder */
  const char *state, *name;
  unsigned frames;         /* frames written */
  unsigned most_saves;     /* most saves seen between two frames */
  unsigned saves;          /* in all */
  unsigned data_frame;     /* the frame after the first BLOCK, 0 not yet */
  char status_then[32];    /* upgrade_status on disk at that frame */
  uint8_t tx[8192 + 64];
  uint8_t rx[256];
};

static unsigned st_push_saves(struct st_push *h) {
  unsigned n = 0;
  char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t r;
  while ((r = read(h->ino, ev, sizeof ev)) > 0)
    for (char *p = ev; p < ev + r;) {
      const struct inotify_event *e = (const struct inotify_event *)p;
      if (e->len && strncmp(e->name, h->name, strlen(h->name)) == 0 &&
          strstr(e->name, SIM_STATE_TMP_INFIX))
        n++;
      p += sizeof *e + e->len;
    }
  return n;
}

static int st_push_write(void *user, const uint8_t *buf, size_t len) {
  struct st_push *h = user;
  unsigned n = st_push_saves(h);
  h->saves += n;
  if (n > h->most_saves)
    h->most_saves = n;
  if (!h->data_frame && h->stpm.acked > 0) {
    /* The first BLOCK was acked: what it changed must be on disk now. */
    struct sim_state ss;
    char lerr[256];
    h->data_frame = h->frames;
    ck_assert_msg(sim_state_load(h->state, &ss, lerr, sizeof lerr) == 0,
                  "%s", lerr);
    snprintf(h->status_then, sizeof h->status_then, "%s", ss.upgrade_status);
    sim_state_release(&ss);
  }
  h->frames++;
  return sqn_posix_tty_write_all(&h->tty, buf, len, 5000);
}

static int st_push_read(void *user, uint64_t off, uint8_t *buf, size_t len) {
  struct st_push *h = user;
  if (off > h->len || len > h->len - off)
    return -1;
  memcpy(buf, h->pkg + off, len);
  return (int)len;
}

START_TEST(test_state_one_save_per_step_before_the_reply) {
  char dir[256], state[300], buf[256];
  struct st_sim a;
  st_package();
  st_fresh_state(dir, sizeof dir, state, sizeof state, "interrupted-upgrade");
  const char *args[] = {"--state", state, "--time-scale", "0", NULL};
  ck_assert_int_eq(st_start(&a, dir, 0, args), 0);

  struct st_push *h = calloc(1, sizeof *h);
  ck_assert_ptr_nonnull(h);
  h->pkg = sqn_read_file(pkg, &h->len);
  ck_assert_ptr_nonnull(h->pkg);
  h->state = state;
  h->name = "s.json";
  h->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ck_assert_int_ge(h->ino, 0);
  ck_assert_int_ge(inotify_add_watch(h->ino, dir, IN_MOVED_FROM), 0);
  ck_assert_int_eq(sqn_posix_tty_open(&h->tty, a.pty, 921600, false), 0);

  bool ok = false;
  for (int i = 0; i < 50 && !ok; i++) {
    pty_xchg(h->tty.fd, "AT\r", buf, sizeof buf, 100);
    ok = strstr(buf, "OK") != NULL;
  }
  ck_assert_msg(ok, "no OK to AT: '%s'", buf);
  pty_xchg(h->tty.fd, "AT+SMSTPU=\"ON_THE_FLY\"\r", buf, sizeof buf, 2000);
  ck_assert_msg(strstr(buf, "OK") != NULL, "AT+SMSTPU: '%s'", buf);
  (void)st_push_saves(h); /* what the AT commands saved */

  struct sqn_stpm_config sc = {.tx_buf = h->tx, .tx_cap = sizeof h->tx,
                               .rx_buf = h->rx, .rx_cap = sizeof h->rx,
                               .total = h->len, .ack_ms = 10000,
                               .final_ms = 10000, .retries = 1,
                               .write = st_push_write, .read = st_push_read,
                               .user = h};
  ck_assert_int_eq(sqn_stpm_init(&h->stpm, &sc), 0);
  ck_assert_int_eq(sqn_stpm_start(&h->stpm, sqn_posix_now_ms()), 0);
  while (!sqn_stpm_done(&h->stpm)) {
    uint8_t rb[512];
    struct pollfd p = {h->tty.fd, POLLIN, 0};
    int n = 0;
    if (poll(&p, 1, 100) > 0)
      n = (int)read(h->tty.fd, rb, sizeof rb);
    if (n > 0)
      sqn_stpm_feed(&h->stpm, sqn_posix_now_ms(), rb, (size_t)n);
    sqn_stpm_tick(&h->stpm, sqn_posix_now_ms());
  }
  ck_assert_msg(h->stpm.result == 0 && h->stpm.acked == h->len,
                "push ended %s", sqn_err_name(h->stpm.result));
  /* The final RESET's saves came before its ack: count them too. */
  unsigned last = st_push_saves(h);
  h->saves += last;
  if (last > h->most_saves)
    h->most_saves = last;

  /* The first BLOCK marks the upgrade on-going and the updater slot
   * invalid (two flash changes), the final RESET writes the slots and the
   * status (three): each a single save, on disk before the answer. */

  ck_assert_msg(h->data_frame > 0, "no BLOCK was acked");
  ck_assert_str_eq(h->status_then, "on-going");
  ck_assert_msg(h->most_saves == 1,
                "%u saves between two frames (one per step expected)",
                h->most_saves);
  ck_assert_msg(h->saves >= 2, "only %u saves in a whole push", h->saves);
  {
    /* The final ack is in: the upgrade's end is on disk already. */
    struct sim_state now;
    char lerr[256];
    ck_assert_msg(sim_state_load(state, &now, lerr, sizeof lerr) == 0, "%s",
                  lerr);
    ck_assert_str_eq(now.upgrade_status, "success");
    sim_state_release(&now);
  }

  sqn_posix_tty_close(&h->tty);
  close(h->ino);
  free((void *)h->pkg);
  free(h);
  kill(a.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&a, 20), 0);
  struct sim_state ss;
  char lerr[256];
  ck_assert_msg(sim_state_load(state, &ss, lerr, sizeof lerr) == 0, "%s", lerr);
  ck_assert_str_eq(ss.upgrade_status, "success");
  sim_state_release(&ss);
}
END_TEST

/* ---- kill -9 ---- */

START_TEST(test_state_kill9_mid_upgrade_then_rerun_completes) {
  char dir[256], state[300], err[2048];
  struct st_sim a;
  struct sqn_rng rng;
  int runs = 8;
  const char *env = getenv("SQN_KILL9_RUNS");
  if (env && atoi(env) > 0)
    runs = atoi(env);
  st_package();
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  const char *args[] = {"--state", state, "--time-scale", "0.02", NULL};

  /* Calibrate: how long a whole upgrade takes from interrupted-upgrade. */
  st_copy(SQN_FIXTURES "/states/interrupted-upgrade.json", state);
  ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
  double t0 = pty_now();
  ck_assert_msg(st_update(&a) == 0, "calibration: %s", out);
  double span = (pty_now() - t0) * 1.1;
  kill(a.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&a, 10), 0);

  sqn_rng_seed(&rng, 14);
  int flashed = 0;
  for (int run = 0; run < runs; run++) {
    st_copy(SQN_FIXTURES "/states/interrupted-upgrade.json", state);
    ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
    const char *uargv[] = {SQN_UPDATE_BIN, "--port", a.pty,
                           "--timeout-scale", "0.2", pkg, NULL};
    pid_t upd = fork();
    ck_assert_int_ge(upd, 0);
    if (upd == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execv(uargv[0], (char *const *)uargv);
      _exit(127);
    }
    long us = (long)sqn_rng_below(&rng, (uint64_t)(span * 1e6) + 1);
    struct timespec d = {us / 1000000L, (us % 1000000L) * 1000L};
    nanosleep(&d, NULL); /* the random moment of the kill */
    kill(a.pid, SIGKILL);
    waitpid(a.pid, NULL, 0);
    kill(upd, SIGKILL);
    waitpid(upd, NULL, 0);

    struct sim_state ss;
    char lerr[256];
    ck_assert_msg(sim_state_load(state, &ss, lerr, sizeof lerr) == 0,
                  "run %d (kill at %ld us): torn state: %s", run, us, lerr);
    if (ss.writes > 0)
      flashed++;
    sim_state_release(&ss);

    /* The next start cleans up, and the updater run again finishes the
     * job: no false failure. */
    int rc = st_start(&a, dir, 0, args);
    st_stderr(&a, err, sizeof err);
    ck_assert_msg(rc == 0, "run %d: restart status %d: %s", run, rc, err);
    ck_assert_msg(st_count_temps(dir) == 0, "run %d: temp file left", run);
    /* With updater.elf: a kill while the updater slot was being written
     * leaves a modem that boots FFH, which only the ELF path recovers. */
    const char *rargv[] = {SQN_UPDATE_BIN, "--port", a.pty, "--timeout-scale",
                           "0.2", "--updater",
                           SQN_FIXTURES "/packages/updater.elf", pkg, NULL};
    int urc = pty_run(rargv, out, sizeof out, 60);
    ck_assert_msg(urc == 0, "run %d (kill at %ld us): rerun failed (%d):\n%s",
                  run, us, urc, out);
    kill(a.pid, SIGTERM);
    ck_assert_int_eq(st_wait(&a, 10), 0);
    ASSERT_SHOW(state, "fff.version", "5.2.0.0");
    ASSERT_SHOW(state, "boot_select", "FFF");
  }
  fprintf(stderr, "kill9: %d runs over a %.0f ms upgrade, %d after a flash "
                  "write\n", runs, span * 1e3, flashed);
}
END_TEST

/* ---- bounded everything ---- */

static void st_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

/* Numbers in fault files and scenarios are range-checked at load, with
 * FILE:LINE: a NUL count of 2^32-1 used to grow sqn-sim to gigabytes, a
 * scenario bound of 1e300 overflowed the clock. */
START_TEST(test_limits_fault_and_scenario_numbers_are_range_checked) {
  char dir[256], state[300], faults[300], scen[300], err[2048], want[400];
  struct st_sim a;
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  snprintf(faults, sizeof faults, "%s/f.yaml", dir);
  st_write(faults, "- name: fine\n"
                   "  when: at\n"
                   "  match: \"AT\"\n"
                   "  do: error\n"
                   "- name: nasty\n"
                   "  when: at\n"
                   "  match: \"AT\"\n"
                   "  do: nul\n"
                   "  count: 4294967295\n");
  const char *a1[] = {"--state", state, "--faults", faults, NULL};
  int rc = st_start(&a, dir, 0, a1);
  st_stderr(&a, err, sizeof err);
  snprintf(want, sizeof want, "%s:9: fault #2: nasty: count 4294967295 out "
           "of range", faults);
  ck_assert_msg(rc == 3 && strstr(err, want), "status %d: %s", rc, err);
  st_write(faults, "- {when: at, match: AT, do: delay,\n"
                   "   delay_us: 18446744073709551615}\n");
  rc = st_start(&a, dir, 0, a1);
  st_stderr(&a, err, sizeof err);
  ck_assert_msg(rc == 3 && strstr(err, "delay_us") && strstr(err, ":2:"),
                "status %d: %s", rc, err);
  st_write(faults, "- {when: at, match: AT, do: fail-upgrade, text: \"a\\r\\nOK\"}\n");
  rc = st_start(&a, dir, 0, a1);
  st_stderr(&a, err, sizeof err);
  ck_assert_msg(rc == 3 && strstr(err, "not printable"), "status %d: %s", rc,
                err);
  /* A FIFO as the fault file ends at once. */
  char fifo[300];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  const char *a2[] = {"--state", state, "--faults", fifo, NULL};
  rc = st_start(&a, dir, 0, a2);
  st_stderr(&a, err, sizeof err);
  ck_assert_msg(rc == 3 && strstr(err, "not a regular file"), "status %d: %s",
                rc, err);
  /* Scenarios. */
  snprintf(scen, sizeof scen, "%s/b.yaml", dir);
  st_write(scen, "name: big bound\n"
                 "verdict: recover\n"
                 "state: healthy\n"
                 "expect: {mode: fff, version: package}\n"
                 "bound: 1e300\n");
  const char *a3[] = {SQN_SCENARIO_BIN, "run", scen, NULL};
  rc = pty_run(a3, out, sizeof out, 20);
  snprintf(want, sizeof want, "%s:5: bound: 1e+300 out of range", scen);
  ck_assert_msg(rc != 0 && strstr(out, want), "status %d: %s", rc, out);
  /* --safe: a scenario that runs a command, or names a state outside the
   * fixtures, is refused; an ordinary one runs. */
  const char *a4[] = {SQN_SCENARIO_BIN, "run", "--safe",
                      SQN_FIXTURES "/scenarios/incident-1-pycom-2018-fails.yaml",
                      NULL};
  rc = pty_run(a4, out, sizeof out, 20);
  ck_assert_msg(rc != 0 && strstr(out, "refused by --safe") &&
                    strstr(out, "runs a command"),
                "status %d: %s", rc, out);
  st_write(scen, "name: escape\n"
                 "verdict: recover\n"
                 "state: \"../../etc/x\"\n"
                 "expect: {mode: fff, version: package}\n");
  const char *a5[] = {SQN_SCENARIO_BIN, "run", "--safe", scen, NULL};
  rc = pty_run(a5, out, sizeof out, 20);
  snprintf(want, sizeof want, "%s:3: --safe: state", scen);
  ck_assert_msg(rc != 0 && strstr(out, want), "status %d: %s", rc, out);
  const char *a6[] = {SQN_SCENARIO_BIN, "run", "--safe",
                      SQN_FIXTURES "/scenarios/s00-healthy-upgrade.yaml", NULL};
  rc = pty_run(a6, out, sizeof out, 60);
  ck_assert_msg(rc == 0, "status %d: %s", rc, out);
}
END_TEST

/* The nastiest fault file we found and a host that writes AT lines as
 * fast as the line takes them and never reads: sqn-sim's peak RSS stays
 * under 16 MiB (it reached 975 MB / 1.3 GB before). */
START_TEST(test_limits_rss_bounded_with_a_host_that_never_reads) {
  char dir[256], state[300], faults[300], status[64], line[256];
  struct st_sim a;
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  snprintf(faults, sizeof faults, "%s/nasty.yaml", dir);
  st_write(faults,
           "- {name: nul, when: at, match: \"AT*\", do: nul, count: 4096}\n"
           "- {name: hold, when: at, match: \"AT*\", do: delay,\n"
           "   delay_us: 604800000000}\n"
           "- {name: split, when: at, match: \"AT*\", do: split, count: 1024,\n"
           "   delay_us: 604800000000}\n"
           "- {name: urc, when: at, match: \"AT*\", do: urc, text: \"+URC: "
           "0123456789012345678901234567890123456789012345678901234567890\"}\n");
  const char *args[] = {"--state", state, "--faults", faults, "--time-scale",
                        "0", NULL};
  ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
  int fd = pty_open_port(a.pty, 921600);
  ck_assert_int_ge(fd, 0);
  static char burst[3000];
  for (size_t i = 0; i + 3 <= sizeof burst; i += 3)
    memcpy(burst + i, "AT\r", 3);
  size_t sent = 0;
  double end = pty_now() + 3; /* load for 3 s: a duration, not a wait */
  while (pty_now() < end) {
    ssize_t n = write(fd, burst, sizeof burst);
    if (n > 0)
      sent += (size_t)n;
    else {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, 10);
    }
  }
  snprintf(status, sizeof status, "/proc/%ld/status", (long)a.pid);
  FILE *f = fopen(status, "r");
  ck_assert_ptr_nonnull(f);
  long hwm_kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &hwm_kb) == 1)
      break;
  fclose(f);
  close(fd);
  kill(a.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&a, 20), 0);
  fprintf(stderr, "rss: host sent %zu bytes, read none; sqn-sim peak RSS "
                  "%ld KiB\n", sent, hwm_kb);
  ck_assert_int_gt(hwm_kb, 0);
  ck_assert_msg(hwm_kb < 16 * 1024, "peak RSS %ld KiB", hwm_kb);
}
END_TEST


/* At time scale 0 sqn-sim waits for a host that streams inside a blocking
 * read() rather than in its event loop (serve.c, sim_serve_burst). A host
 * that stops in the middle of a command must not keep it there: SIGTERM
 * still stops it cleanly (exit 0, state saved) within the bound. */
START_TEST(test_state_sigterm_reaches_a_modem_waiting_for_the_host) {
  char dir[256], state[300], buf[256];
  struct st_sim a;
  pty_tmpdir(dir, sizeof dir);
  snprintf(state, sizeof state, "%s/s.json", dir);
  const char *args[] = {"--state", state, "--profile", "monarch1", "--time-scale",
                        "0", NULL};
  ck_assert_int_eq(st_start(&a, dir, 0, args), 0);
  int fd = pty_open_port(a.pty, 921600);
  ck_assert_int_ge(fd, 0);
  /* RECOVERY or FFF: whatever a new modem boots into answers AT. */
  bool ok = false;
  for (int i = 0; i < 50 && !ok; i++) {
    pty_xchg(fd, "AT\r", buf, sizeof buf, 100);
    ok = strstr(buf, "OK") != NULL;
  }
  ck_assert_msg(ok, "no OK to AT: '%s'", buf);
  /* Half a command: the modem now waits for the rest. */
  ck_assert_int_eq(write(fd, "AT+SMO", 6), 6);
  kill(a.pid, SIGTERM);
  ck_assert_int_eq(st_wait(&a, 20), 0);
  close(fd);
  struct sim_state st;
  char err[256];
  memset(&st, 0, sizeof st);
  ck_assert_msg(sim_state_load(state, &st, err, sizeof err) == 0, "%s", err);
}
END_TEST

static Suite *st_suite(void) {
  Suite *s = suite_create("state");
  TCase *tc = tcase_create("ownership");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_state_second_emulator_is_refused_and_nothing_lost);
  tcase_add_test(tc, test_state_symlink_is_followed_and_stale_temps_go);
  tcase_add_test(tc, test_state_outputs_may_not_be_inputs);
  tcase_add_test(tc, test_state_link_of_a_live_emulator_is_not_taken);
  tcase_add_test(tc, test_state_second_signal_during_save_is_held);
  tcase_add_test(tc, test_state_full_disk_makes_the_modem_vanish);
  tcase_add_test(tc, test_state_read_only_folder_makes_the_modem_vanish);
  tcase_add_test(tc, test_limits_fault_and_scenario_numbers_are_range_checked);
  tcase_add_test(tc, test_limits_rss_bounded_with_a_host_that_never_reads);
  tcase_add_test(tc, test_state_sigterm_reaches_a_modem_waiting_for_the_host);
  tcase_add_test(tc, test_state_one_save_per_step_before_the_reply);
  suite_add_tcase(s, tc);
  TCase *k = tcase_create("kill9");
  tcase_set_timeout(k, 3000);
  tcase_add_test(k, test_state_kill9_mid_upgrade_then_rerun_completes);
  suite_add_tcase(s, k);
  return s;
}

int main(void) {
  pty_require_openpty();
  pty_session_begin();
  SRunner *sr = srunner_create(st_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
