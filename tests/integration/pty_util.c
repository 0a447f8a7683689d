/* SPDX-License-Identifier: Apache-2.0 */
#include "pty_util.h"

#include "pty_rate.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

double pty_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one temp root per test binary ----
 * Check runs each test in a forked child and ends a failing one with
 * _exit() (no atexit) or SIGKILL at its timeout, so a child cannot be
 * trusted to clean up after itself. Instead the main process makes one
 * root dir; every dir a test makes lives inside it, and every sqn-sim
 * started appends its pid to root/sims.pids. When the main process exits
 * it kills the sqn-sims a failed test left running (after checking, in
 * /proc, that the pid still runs with a state file inside the root, so a
 * reused pid is never hit) and removes the root. */
static char pty_root[256];
static pid_t pty_root_owner;

static void pty_rmtree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (d) {
      struct dirent *e;
      while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
          continue;
        char sub[1024];
        int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (n > 0 && (size_t)n < sizeof sub)
          pty_rmtree(sub);
      }
      closedir(d);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

/* Does `pid` still run with an argument inside the root? */
static bool pty_is_ours(long pid) {
  char path[64], cmd[4096];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  size_t n = fread(cmd, 1, sizeof cmd - 1, f);
  fclose(f);
  size_t rl = strlen(pty_root);
  for (size_t i = 0; i + rl <= n; i++) /* NUL-separated arguments */
    if (memcmp(cmd + i, pty_root, rl) == 0)
      return true;
  return false;
}

static void pty_session_end(void) {
  if (getpid() != pty_root_owner || !pty_root[0])
    return; /* a test's child inherits the handler; only main cleans */
  char list[600];
  snprintf(list, sizeof list, "%s/sims.pids", pty_root);
  FILE *f = fopen(list, "r");
  long pid;
  while (f && fscanf(f, "%ld", &pid) == 1)
    if (pid > 1 && pty_is_ours(pid))
      kill((pid_t)pid, SIGKILL);
  if (f)
    fclose(f);
  pty_rmtree(pty_root);
  pty_root[0] = 0;
}

void pty_session_begin(void) {
  const char *t = getenv("TMPDIR");
  snprintf(pty_root, sizeof pty_root, "%s/sqn-pty-XXXXXX", t ? t : "/tmp");
  if (!mkdtemp(pty_root)) {
    fprintf(stderr, "mkdtemp %s: %s\n", pty_root, strerror(errno));
    exit(1);
  }
  pty_root_owner = getpid();
  atexit(pty_session_end);
}

static void pty_track_sim(pid_t pid) {
  char list[600];
  if (!pty_root[0])
    return;
  snprintf(list, sizeof list, "%s/sims.pids", pty_root);
  int fd = open(list, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0)
    return;
  char line[32];
  int n = snprintf(line, sizeof line, "%ld\n", (long)pid);
  ssize_t w = write(fd, line, (size_t)n); /* O_APPEND: one atomic line */
  (void)w;
  close(fd);
}

void pty_require_openpty(void) {
  int m, s;
  if (openpty(&m, &s, NULL, NULL, NULL) != 0) {
    fprintf(stderr, "openpty unavailable: %s; skipping\n", strerror(errno));
    exit(77);
  }
  close(m);
  close(s);
}

void pty_tmpdir(char *dir, size_t cap) {
  const char *t = getenv("TMPDIR");
  if (pty_root[0])
    snprintf(dir, cap, "%s/d-XXXXXX", pty_root);
  else
    snprintf(dir, cap, "%s/sqn-pty-XXXXXX", t ? t : "/tmp");
  ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void pty_copy(const char *from, const char *to) {
  size_t n;
  FILE *in = fopen(from, "rb");
  ck_assert_msg(in != NULL, "%s: %s", from, strerror(errno));
  FILE *out = fopen(to, "wb");
  ck_assert_msg(out != NULL, "%s: %s", to, strerror(errno));
  char buf[4096];
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
  fclose(in);
  fclose(out);
}

void pty_sim_start(struct pty_sim *s, const char *fixture_state,
                   const char *const *extra) {
  memset(s, 0, sizeof *s);
  pty_tmpdir(s->dir, sizeof s->dir);
  snprintf(s->state, sizeof s->state, "%s/state.json", s->dir);
  if (fixture_state) {
    char src[512];
    if (fixture_state[0] == '/')
      snprintf(src, sizeof src, "%s", fixture_state);
    else
      snprintf(src, sizeof src, "%s/states/%s", SQN_FIXTURES, fixture_state);
    pty_copy(src, s->state);
  }
  pty_sim_restart(s, extra);
}

void pty_sim_restart(struct pty_sim *s, const char *const *extra) {
  int pfd[2];
  const char *argv[32];
  int n = 0;
  s->pid = 0;
  s->pty[0] = 0;
  argv[n++] = SQN_SIM_BIN;
  argv[n++] = "--state";
  argv[n++] = s->state;
  for (; extra && *extra && n < 30; extra++)
    argv[n++] = *extra;
  argv[n] = NULL;
  ck_assert_int_eq(pipe(pfd), 0);
  s->pid = fork();
  ck_assert_int_ge(s->pid, 0);
  if (s->pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  pty_track_sim(s->pid);
  close(pfd[1]);
  /* The first line, within 10 s. */
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
    ck_assert_msg(r > 0, "sqn-sim exited before its pty line");
    got += (size_t)r;
  }
  line[got] = 0;
  close(pfd[0]);
  ck_assert_msg(strncmp(line, "pty: /dev/", 10) == 0, "first line: %s", line);
  char *nl = strchr(line, '\n');
  *nl = 0;
  snprintf(s->pty, sizeof s->pty, "%s", line + 5);
}

static int pty_wait(pid_t pid, double timeout_s) {
  double deadline = pty_now() + timeout_s;
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (pty_now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    struct timespec ts = {0, 2000000}; /* reap poll, not an event wait */
    nanosleep(&ts, NULL);
  }
}

int pty_sim_stop(struct pty_sim *s) {
  kill(s->pid, SIGTERM);
  return pty_wait(s->pid, 10);
}

void pty_sim_kill9(struct pty_sim *s) {
  kill(s->pid, SIGKILL);
  waitpid(s->pid, NULL, 0);
}

int pty_run(const char *const *argv, char *out, size_t cap, double timeout_s) {
  char path[] = "/tmp/sqn-pty-out-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  unlink(path);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int rc = pty_wait(pid, timeout_s);
  ssize_t n = pread(fd, out, cap - 1, 0);
  out[n > 0 ? n : 0] = 0;
  close(fd);
  return rc;
}

#ifdef SQN_CHAT_BIN /* binaries that run no chat script need no sqn-chat */
int pty_chat(const struct pty_sim *s, const char *script,
             const char *const *vars, char *out, size_t cap) {
  const char *argv[40];
  char spath[512], tpath[512];
  int n = 0;
  snprintf(spath, sizeof spath, "%s/hosts/%s.chat", SQN_FIXTURES, script);
  snprintf(tpath, sizeof tpath, "%s/%s.transcript", s->dir, script);
  argv[n++] = SQN_CHAT_BIN;
  argv[n++] = "--sleep-scale";
  argv[n++] = "0.05";
  argv[n++] = "--timeout-scale";
  argv[n++] = "0.1";
  argv[n++] = "--transcript";
  argv[n++] = tpath;
  for (; vars && *vars && n < 36; vars++) {
    argv[n++] = "--var";
    argv[n++] = *vars;
  }
  argv[n++] = spath;
  argv[n++] = s->pty;
  argv[n] = NULL;
  return pty_run(argv, out, cap, 60);
}
#endif

int pty_show_get(const char *state, const char *key, char *val, size_t cap) {
  static char out[65536];
  const char *argv[] = {SQN_SIM_BIN, "--state", state, "--show", "--json",
                        NULL};
  if (pty_run(argv, out, sizeof out, 10) != 0)
    return -1;
  json_error_t e;
  json_t *root = json_loads(out, 0, &e), *v = root;
  char k[128];
  snprintf(k, sizeof k, "%s", key);
  for (char *tok = strtok(k, "."); tok && v; tok = strtok(NULL, "."))
    v = json_object_get(v, tok);
  int rc = -1;
  if (json_is_string(v)) {
    snprintf(val, cap, "%s", json_string_value(v));
    rc = 0;
  } else if (json_is_integer(v)) {
    snprintf(val, cap, "%lld", (long long)json_integer_value(v));
    rc = 0;
  } else if (json_is_boolean(v)) {
    snprintf(val, cap, "%s", json_is_true(v) ? "true" : "false");
    rc = 0;
  }
  json_decref(root);
  return rc;
}

int pty_open_port(const char *path, unsigned baud) {
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
  ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
  struct termios t;
  ck_assert_int_eq(tcgetattr(fd, &t), 0);
  cfmakeraw(&t);
  ck_assert_int_eq(tcsetattr(fd, TCSANOW, &t), 0);
  pty_set_rate(fd, baud, baud);
  return fd;
}

void pty_set_rate(int fd, unsigned in, unsigned out) {
  ck_assert_msg(sim_tty_set_rate(fd, in, out) == 0, "set %u/%u baud: %s", in,
                out, strerror(errno));
}

bool pty_file_wait(const char *path, const char *needle, double timeout_s) {
  static char buf[1 << 16];
  double deadline = pty_now() + timeout_s;
  for (;;) {
    FILE *f = fopen(path, "rb");
    if (f) {
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = 0;
      if (strstr(buf, needle))
        return true;
    }
    if (pty_now() > deadline)
      return false;
    /* A file has no readiness to poll for: re-read every 5 ms. */
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}

size_t pty_xchg(int fd, const char *cmd, char *buf, size_t cap, int ms) {
  size_t len = strlen(cmd), off = 0, got = 0;
  double deadline = pty_now() + 5;
  while (off < len) {
    ssize_t w = write(fd, cmd + off, len - off);
    if (w > 0) {
      off += (size_t)w;
      continue;
    }
    ck_assert_msg(pty_now() < deadline, "write to pty stuck");
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    poll(&p, 1, 10);
  }
  double end = pty_now() + ms / 1000.0;
  while (got < cap - 1) {
    int left = (int)((end - pty_now()) * 1000);
    if (left <= 0)
      break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, left) <= 0)
      continue;
    ssize_t r = read(fd, buf + got, cap - 1 - got);
    if (r > 0)
      got += (size_t)r;
  }
  buf[got] = 0;
  return got;
}
