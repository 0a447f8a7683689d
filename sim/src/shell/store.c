/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store file beside the state file; see store.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sim_store_path(const struct sim_store_files *f, const char *name,
                          char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s", f->dir, name);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int sim_store_new_path(const struct sim_store_files *f, char *out,
                              size_t cap) {
  int n = snprintf(out, cap, "%s/%s.store.new", f->dir, f->base);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void sim_store_sync_dir(const struct sim_store_files *f) {
  int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
}

static int sim_store_write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int sim_store_begin(void *ctx) {
  struct sim_store_files *f = ctx;
  char path[4096];
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
  if (sim_store_new_path(f, path, sizeof path) != 0)
    return -1;
  f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  return f->fd >= 0 ? 0 : -1;
}

static int sim_store_append(void *ctx, const uint8_t *data, size_t len) {
  struct sim_store_files *f = ctx;
  return f->fd >= 0 ? sim_store_write_all(f->fd, data, len) : -1;
}

/* The store committed since the last save, unless it is `keep`: no saved
 * state names it (a newer store or a clearing came in the same step). */
static void sim_store_drop_pending(struct sim_store_files *f,
                                   const char *keep) {
  char path[4096];
  if (f->pending[0] && strcmp(f->pending, keep) != 0 &&
      strcmp(f->pending, f->saved) != 0 &&
      sim_store_path(f, f->pending, path, sizeof path) == 0)
    (void)unlink(path);
  f->pending[0] = '\0';
}

static int sim_store_commit(void *ctx, char *name, size_t cap) {
  struct sim_store_files *f = ctx;
  char from[4096], to[4096];
  if (f->fd < 0)
    return -1;
  int rc = fsync(f->fd);
  if (close(f->fd) != 0)
    rc = -1;
  f->fd = -1;
  int n = snprintf(name, cap, "%s.store-%lu", f->base, f->gen + 1);
  if (rc != 0 || n < 0 || (size_t)n >= cap ||
      sim_store_new_path(f, from, sizeof from) != 0 ||
      sim_store_path(f, name, to, sizeof to) != 0 || rename(from, to) != 0)
    return -1;
  f->gen++;
  sim_store_sync_dir(f);
  sim_store_drop_pending(f, name);
  snprintf(f->pending, sizeof f->pending, "%s", name);
  return 0;
}

static int sim_store_read(void *ctx, const char *name, uint64_t off,
                          uint8_t *buf, size_t len) {
  struct sim_store_files *f = ctx;
  char path[4096];
  if (sim_store_path(f, name, path, sizeof path) != 0)
    return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = 0;
  while (len && rc == 0) {
    ssize_t r = pread(fd, buf, len, (off_t)off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      rc = -1;
      break;
    }
    buf += r;
    off += (uint64_t)r;
    len -= (size_t)r;
  }
  close(fd);
  return rc;
}

static int sim_store_flip(void *ctx, const char *name, uint64_t off) {
  struct sim_store_files *f = ctx;
  char path[4096];
  uint8_t b;
  if (sim_store_path(f, name, path, sizeof path) != 0)
    return -1;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = -1;
  if (pread(fd, &b, 1, (off_t)off) == 1) {
    b ^= 0x01;
    if (pwrite(fd, &b, 1, (off_t)off) == 1 && fsync(fd) == 0)
      rc = 0;
  }
  close(fd);
  return rc;
}

/* N of a "BASE.store-N" name, 0 if it is not one. */
static unsigned long sim_store_gen_of(const struct sim_store_files *f,
                                      const char *name) {
  size_t bl = strlen(f->base);
  if (strncmp(name, f->base, bl) != 0 || strncmp(name + bl, ".store-", 7))
    return 0;
  char *end;
  unsigned long g = strtoul(name + bl + 7, &end, 10);
  return *end ? 0 : g;
}

int sim_store_files_init(struct sim_store_files *f, const char *state_path,
                         struct sim_state *st, char *err, size_t errcap) {
  memset(f, 0, sizeof(*f));
  f->fd = -1;
  f->io = (struct sim_store_io){.ctx = f,
                                .begin = sim_store_begin,
                                .append = sim_store_append,
                                .commit = sim_store_commit,
                                .read = sim_store_read,
                                .flip = sim_store_flip};
  char *a = strdup(state_path), *b = strdup(state_path);
  if (!a || !b) {
    free(a);
    free(b);
    snprintf(err, errcap, "%s: out of memory", state_path);
    return -1;
  }
  f->dir = strdup(dirname(a));
  f->base = strdup(basename(b));
  free(a);
  free(b);
  if (!f->dir || !f->base) {
    snprintf(err, errcap, "%s: out of memory", state_path);
    sim_store_files_free(f);
    return -1;
  }
  char path[4096];
  /* What was being received when the last run ended is gone (RAM). */
  if (sim_store_new_path(f, path, sizeof path) == 0)
    (void)unlink(path);
  if (st->fs_store_file[0]) {
    struct stat sb;
    if (sim_store_path(f, st->fs_store_file, path, sizeof path) != 0 ||
        stat(path, &sb) != 0) {
      snprintf(err, errcap, "%s: fs_store.file %s: %s", state_path,
               st->fs_store_file, strerror(errno));
      return -1;
    }
    if ((uint64_t)sb.st_size != st->fs_store_len) {
      snprintf(err, errcap,
               "%s: fs_store.file %s holds %lld bytes, the state says %u",
               state_path, st->fs_store_file, (long long)sb.st_size,
               st->fs_store_len);
      return -1;
    }
    f->gen = sim_store_gen_of(f, st->fs_store_file);
    snprintf(f->saved, sizeof f->saved, "%s", st->fs_store_file);
  } else if (st->fs_store && st->fs_store_len) {
    /* An inline store (older state files, fixtures): move it to a file.
     * The state keeps naming the bytes inline until it is saved again. */
    char name[sizeof st->fs_store_file];
    if (sim_store_begin(f) != 0 ||
        sim_store_append(f, st->fs_store, st->fs_store_len) != 0 ||
        sim_store_commit(f, name, sizeof name) != 0) {
      snprintf(err, errcap, "%s: cannot write the store file: %s",
               state_path, strerror(errno));
      return -1;
    }
    free(st->fs_store);
    st->fs_store = NULL;
    snprintf(st->fs_store_file, sizeof st->fs_store_file, "%s", name);
  }
  return 0;
}

void sim_store_files_saved(struct sim_store_files *f,
                           const struct sim_state *st) {
  const char *now = st->fs_store_len ? st->fs_store_file : "";
  sim_store_drop_pending(f, now);
  if (!strcmp(now, f->saved))
    return;
  char path[4096];
  if (f->saved[0] && sim_store_path(f, f->saved, path, sizeof path) == 0)
    (void)unlink(path);
  snprintf(f->saved, sizeof f->saved, "%s", now);
}

void sim_store_files_free(struct sim_store_files *f) {
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
  free(f->dir);
  free(f->base);
  f->dir = f->base = NULL;
}
