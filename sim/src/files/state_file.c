/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem's flash as one JSON document (modem-model.md section 2), and
 * the state file: part of sim_files, the model's file formats (the model
 * itself, sim_model, holds the state in memory only).
 *
 *   {
 *     "profile": "monarch1",          monarch1 | gm02s
 *     "boot_select": "FFF",           FFH | FFF | UPDATER | RECOVERY
 *     "fff":     { "valid": true, "version": "5.1.1.0", "build": 33988,
 *                  "ue": "5.0.0.0c" },
 *     "updater": { "valid": true, "version": "5.1.1.0", "build": 33988 },
 *     "bootrom": { "valid": true, "version": "5.1.1.0", "build": 33080 },
 *     "fs_store": null | { "length": N, "base64": "..." }
 *                      | { "length": N, "file": "NAME" },
 *     "upgrade_status": "No report",  No report | on-going | success | fail
 *     "fail_reason": "",
 *     "writes": 0,
 *     "uart_baud": 115200             optional, only when non-zero
 *     "part2_pending": true           optional, only when true (F20)
 *   }
 *
 * An image object may also carry "incomplete": true (a deliberately broken
 * write ordering, SIM_DEBUG_MARK_VALID_EARLY); it is written only when
 * true, so ordinary state files never show it.
 *
 * fs_store is inline (base64) for states held in memory (the harness, the
 * fixtures). sqn-sim keeps it in its own file beside the state
 * (sim/src/shell/store.c): "file" names it. That file is written, fsync'd
 * and renamed into place under a name of its own before the state naming it
 * is saved, and the file it replaces is removed only after, so a kill -9 at
 * any instant leaves a state whose store file is complete.
 */
#include "sim/state_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const sim_state_boot_names[] = {"FFH", "FFF", "UPDATER",
                                                   "RECOVERY"};
static const char *const sim_state_profile_names[] = {"monarch1", "gm02s"};

/* ---- base64 -------------------------------------------------------------- */

static const char sim_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *sim_b64_encode(const uint8_t *p, size_t n)
{
  size_t out_len = (n + 2) / 3 * 4;
  char *out = malloc(out_len + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    out[o++] = sim_b64[(v >> 18) & 63];
    out[o++] = sim_b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? sim_b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? sim_b64[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

static int sim_b64_val(char c)
{
  const char *p = c ? strchr(sim_b64, c) : NULL;
  return p ? (int)(p - sim_b64) : -1;
}

/* Decode into `out` (cap bytes); returns the length or -1 with the index of
 * the bad character in *bad. */
static long sim_b64_decode(const char *s, uint8_t *out, size_t cap,
                           size_t *bad)
{
  size_t n = strlen(s), o = 0;
  if (n % 4) {
    *bad = n;
    return -1;
  }
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      char c = s[i + k];
      if (c == '=' && i + 4 == n && k >= 2) {
        v[k] = 0;
        pad++;
        continue;
      }
      if (pad || (v[k] = sim_b64_val(c)) < 0) {
        *bad = i + (size_t)k;
        return -1;
      }
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                 (uint32_t)v[2] << 6 | (uint32_t)v[3];
    uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
    for (int k = 0; k < 3 - pad; k++) {
      if (o >= cap) {
        *bad = i;
        return -1;
      }
      out[o++] = b[k];
    }
  }
  return (long)o;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *sim_state_image_json(const struct sim_image *img, bool ue)
{
  json_t *o = json_pack("{s:b,s:s,s:I}", "valid", img->valid, "version",
                        img->version, "build", (json_int_t)img->build);
  if (o && ue)
    json_object_set_new(o, "ue", json_string(img->ue));
  /* Only a deliberately broken write ordering sets it: keep the usual
   * files free of it. */
  if (o && img->incomplete)
    json_object_set_new(o, "incomplete", json_true());
  return o;
}

char *sim_state_to_json(const struct sim_state *st)
{
  json_t *root = json_object();
  char *text = NULL;
  if (!root)
    return NULL;
  unsigned prof = st->profile == SIM_PROFILE_GM02S ? 1u : 0u;
  unsigned boot = (unsigned)st->boot_select <= SIM_BOOT_RECOVERY
                      ? (unsigned)st->boot_select
                      : (unsigned)SIM_BOOT_FFF;
  json_object_set_new(root, "profile",
                      json_string(sim_state_profile_names[prof]));
  json_object_set_new(root, "boot_select",
                      json_string(sim_state_boot_names[boot]));
  json_object_set_new(root, "fff", sim_state_image_json(&st->fff, true));
  json_object_set_new(root, "updater",
                      sim_state_image_json(&st->updater, false));
  json_object_set_new(root, "bootrom",
                      sim_state_image_json(&st->bootrom, false));
  if (st->fs_store_file[0] && st->fs_store_len) {
    json_object_set_new(root, "fs_store",
                        json_pack("{s:I,s:s}", "length",
                                  (json_int_t)st->fs_store_len, "file",
                                  st->fs_store_file));
  } else if (st->fs_store && st->fs_store_len) {
    char *b64 = sim_b64_encode(st->fs_store, st->fs_store_len);
    if (!b64)
      goto out_free_root;
    json_object_set_new(root, "fs_store",
                        json_pack("{s:I,s:s}", "length",
                                  (json_int_t)st->fs_store_len, "base64",
                                  b64));
    free(b64);
  } else {
    json_object_set_new(root, "fs_store", json_null());
  }
  json_object_set_new(root, "upgrade_status",
                      json_stringn_nocheck(st->upgrade_status,
                                           strnlen(st->upgrade_status,
                                                   sizeof(st->upgrade_status))));
  json_object_set_new(root, "fail_reason",
                      json_stringn_nocheck(st->fail_reason,
                                           strnlen(st->fail_reason,
                                                   sizeof(st->fail_reason))));
  json_object_set_new(root, "writes", json_integer((json_int_t)st->writes));
  if (st->uart_baud)
    json_object_set_new(root, "uart_baud",
                        json_integer((json_int_t)st->uart_baud));
  if (st->part2_pending)
    json_object_set_new(root, "part2_pending", json_true());
  text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out_free_root:
  json_decref(root);
  return text;
}

static int sim_state_err(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sim_state_err(char *err, size_t errcap, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  if (err && errcap)
    vsnprintf(err, errcap, fmt, ap);
  va_end(ap);
  return -1;
}
#define SIM_ERR(...) sim_state_err(err, errcap, __VA_ARGS__)

static int sim_state_get_string(json_t *obj, const char *key,
                                const char *path, char *dst, size_t cap,
                                bool optional, char *err, size_t errcap)
{
  json_t *v = json_object_get(obj, key);
  if (!v) {
    if (optional) {
      dst[0] = '\0';
      return 0;
    }
    return SIM_ERR("%s%s: missing", path, key);
  }
  if (!json_is_string(v))
    return SIM_ERR("%s%s: expected a string", path, key);
  if (json_string_length(v) >= cap)
    return SIM_ERR("%s%s: longer than %zu characters", path, key, cap - 1);
  if (memchr(json_string_value(v), '\0', json_string_length(v)))
    return SIM_ERR("%s%s: contains a NUL character", path, key);
  /* These strings end up in AT replies and on terminals: printable ASCII
   * only (a CR/LF in a version would forge reply lines). */
  for (size_t i = 0; i < json_string_length(v); i++) {
    unsigned char c = (unsigned char)json_string_value(v)[i];
    if (c < 0x20 || c > 0x7e)
      return SIM_ERR("%s%s: character %zu is not printable ASCII (0x%02x)",
                     path, key, i + 1, c);
  }
  memcpy(dst, json_string_value(v), json_string_length(v) + 1);
  return 0;
}

static int sim_state_get_uint(json_t *obj, const char *key, const char *path,
                              uint64_t max, uint64_t *out, bool optional,
                              char *err, size_t errcap)
{
  json_t *v = json_object_get(obj, key);
  if (!v) {
    if (optional) {
      *out = 0;
      return 0;
    }
    return SIM_ERR("%s%s: missing", path, key);
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (uint64_t)json_integer_value(v) > max)
    return SIM_ERR("%s%s: expected an integer 0..%llu", path, key,
                   (unsigned long long)max);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int sim_state_get_image(json_t *root, const char *key,
                               struct sim_image *img, bool ue, char *err,
                               size_t errcap)
{
  char path[32];
  json_t *o = json_object_get(root, key);
  uint64_t build = 0;
  if (!o)
    return SIM_ERR("%s: missing", key);
  if (!json_is_object(o))
    return SIM_ERR("%s: expected an object", key);
  snprintf(path, sizeof(path), "%s.", key);
  json_t *valid = json_object_get(o, "valid");
  if (!valid)
    return SIM_ERR("%svalid: missing", path);
  if (!json_is_boolean(valid))
    return SIM_ERR("%svalid: expected true or false", path);
  img->valid = json_is_true(valid);
  if (sim_state_get_string(o, "version", path, img->version,
                           sizeof(img->version), false, err, errcap) ||
      sim_state_get_uint(o, "build", path, UINT32_MAX, &build, false, err,
                         errcap))
    return -1;
  img->build = (uint32_t)build;
  json_t *inc = json_object_get(o, "incomplete");
  if (inc && !json_is_boolean(inc))
    return SIM_ERR("%sincomplete: expected true or false", path);
  img->incomplete = inc && json_is_true(inc);
  if (ue)
    return sim_state_get_string(o, "ue", path, img->ue, sizeof(img->ue), true,
                                err, errcap);
  img->ue[0] = '\0';
  return 0;
}

static int sim_state_lookup(const char *const *names, size_t n,
                            const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], s) == 0)
      return (int)i;
  return -1;
}

/* profile and boot_select: words from fixed lists. */
static int sim_state_parse_words(struct sim_state *st, json_t *root,
                                 char *err, size_t errcap)
{
  char word[16];
  int idx;

  if (sim_state_get_string(root, "profile", "", word, sizeof(word), false,
                           err, errcap))
    return -1;
  idx = sim_state_lookup(sim_state_profile_names, 2, word);
  if (idx < 0)
    return SIM_ERR("profile: \"%s\" is not monarch1 or gm02s", word);
  st->profile = (enum sim_profile)idx;
  if (sim_state_get_string(root, "boot_select", "", word, sizeof(word), false,
                           err, errcap))
    return -1;
  idx = sim_state_lookup(sim_state_boot_names, 4, word);
  if (idx < 0)
    return SIM_ERR("boot_select: \"%s\" is not FFH, FFF, UPDATER or RECOVERY",
                   word);
  st->boot_select = (enum sim_boot)idx;
  return 0;
}

/* The optional fs_store object: a named file or base64 bytes. */
static int sim_state_parse_fs(struct sim_state *st, json_t *fs, char *err,
                              size_t errcap)
{
  uint64_t n = 0;
  const char *b64;
  size_t bad = 0;
  if (!json_is_object(fs))
    return SIM_ERR("fs_store: expected null or an object");
  if (sim_state_get_uint(fs, "length", "fs_store.", SIM_FS_STORE_MAX, &n,
                         false, err, errcap))
    return -1;
  json_t *file = json_object_get(fs, "file");
  if (file) {
    const char *name = json_string_value(file);
    if (!name || !name[0] || strchr(name, '/') ||
        strlen(name) >= sizeof(st->fs_store_file) || !strcmp(name, ".") ||
        !strcmp(name, ".."))
      return SIM_ERR("fs_store.file: expected a file name (no '/', at "
                     "most %zu characters)",
                     sizeof(st->fs_store_file) - 1);
    if (n) {
      snprintf(st->fs_store_file, sizeof(st->fs_store_file), "%s", name);
      st->fs_store_len = (uint32_t)n;
    }
    return 0;
  }
  json_t *data = json_object_get(fs, "base64");
  if (!json_is_string(data))
    return SIM_ERR("fs_store.base64: expected a string");
  b64 = json_string_value(data);
  if (n) {
    st->fs_store = malloc(n);
    if (!st->fs_store)
      return SIM_ERR("fs_store: out of memory");
    long got = sim_b64_decode(b64, st->fs_store, n, &bad);
    if (got < 0)
      return SIM_ERR("fs_store.base64: bad base64 or too long at "
                     "character %zu",
                     bad);
    if ((uint64_t)got != n)
      return SIM_ERR("fs_store.base64: decodes to %ld bytes, length says "
                     "%llu",
                     got, (unsigned long long)n);
    st->fs_store_len = (uint32_t)n;
  }
  return 0;
}

static int sim_state_parse(struct sim_state *st, json_t *root, char *err,
                           size_t errcap)
{
  uint64_t n = 0;

  if (!json_is_object(root))
    return SIM_ERR("top level: expected an object");
  if (sim_state_parse_words(st, root, err, errcap))
    return -1;
  if (sim_state_get_image(root, "fff", &st->fff, true, err, errcap) ||
      sim_state_get_image(root, "updater", &st->updater, false, err, errcap) ||
      sim_state_get_image(root, "bootrom", &st->bootrom, false, err, errcap))
    return -1;
  if (sim_state_get_string(root, "upgrade_status", "", st->upgrade_status,
                           sizeof(st->upgrade_status), false, err, errcap))
    return -1;
  static const char *const statuses[] = {"No report", "on-going", "success",
                                         "fail"};
  if (sim_state_lookup(statuses, 4, st->upgrade_status) < 0)
    return SIM_ERR("upgrade_status: \"%s\" is not one of \"No report\", "
                   "on-going, success, fail",
                   st->upgrade_status);
  if (sim_state_get_string(root, "fail_reason", "", st->fail_reason,
                           sizeof(st->fail_reason), true, err, errcap) ||
      sim_state_get_uint(root, "writes", "", UINT64_MAX >> 1, &n, true, err,
                         errcap))
    return -1;
  st->writes = n;
  if (sim_state_get_uint(root, "uart_baud", "", 4000000, &n, true, err,
                         errcap))
    return -1;
  if (n && n < 1200)
    return SIM_ERR("uart_baud: %llu is not a UART rate (0, or 1200..4000000)",
                   (unsigned long long)n);
  st->uart_baud = (uint32_t)n;
  json_t *p2 = json_object_get(root, "part2_pending");
  if (p2 && !json_is_boolean(p2))
    return SIM_ERR("part2_pending: expected true or false");
  st->part2_pending = p2 && json_is_true(p2);

  json_t *fs = json_object_get(root, "fs_store");
  if (fs && !json_is_null(fs))
    return sim_state_parse_fs(st, fs, err, errcap);
  return 0;
}

int sim_state_from_json(struct sim_state *st, const char *text, char *err,
                        size_t errcap)
{
  json_error_t jerr;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  int rc;
  memset(st, 0, sizeof(*st));
  if (!root)
    return SIM_ERR("line %d, column %d: %s", jerr.line, jerr.column,
                   jerr.text);
  rc = sim_state_parse(st, root, err, errcap);
  json_decref(root);
  if (rc)
    sim_state_release(st);
  return rc;
}

/* ---- files --------------------------------------------------------------- */

static int sim_state_write_all(int fd, const char *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int sim_state_resolve(const char *path, char *out, size_t cap, char *err,
                      size_t errcap)
{
  char cur[PATH_MAX], target[PATH_MAX];
  if (strlen(path) >= sizeof(cur))
    return SIM_ERR("%s: path too long", path);
  strcpy(cur, path);
  /* Follow the last component's symlinks ourselves: realpath() refuses a
   * dangling link, and a link to a state file not created yet is fine. */
  for (int hops = 0;; hops++) {
    struct stat st;
    if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
      break;
    if (hops >= 40)
      return SIM_ERR("%s: too many levels of symbolic links", path);
    ssize_t n = readlink(cur, target, sizeof(target) - 1);
    if (n < 0)
      return SIM_ERR("%s: readlink: %s", cur, strerror(errno));
    target[n] = '\0';
    if (target[0] == '/') {
      strcpy(cur, target);
    } else {
      char *slash = strrchr(cur, '/');
      size_t dlen = slash ? (size_t)(slash - cur) + 1 : 0;
      if (dlen + (size_t)n >= sizeof(cur))
        return SIM_ERR("%s: symlink target path too long", path);
      memcpy(cur + dlen, target, (size_t)n + 1);
    }
  }
  if (strlen(cur) >= cap)
    return SIM_ERR("%s: path too long", path);
  strcpy(out, cur);
  return 0;
}

/* The folder of `path` ("." when it has none), in `dir`. */
static void sim_state_dirname(const char *path, char *dir, size_t cap)
{
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, cap, ".");
    return;
  }
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= cap)
    n = cap - 1;
  memcpy(dir, path, n);
  dir[n] = '\0';
}

int sim_state_save_locked(const char *path, const struct sim_state *st,
                          int *lock_fd, char *err, size_t errcap)
{
  char real[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX];
  char *text;
  int fd = -1, rc = -1;

  /* A symlinked state file is updated where it points, never replaced by
   * a regular file (the temp file must live in the target's folder for
   * the rename to be atomic). */
  if (sim_state_resolve(path, real, sizeof(real), err, errcap))
    return -1;
  text = sim_state_to_json(st);
  if (!text)
    return SIM_ERR("%s: cannot serialise the state (out of memory)", path);
  snprintf(tmp, sizeof(tmp), "%s" SIM_STATE_TMP_INFIX "XXXXXX", real);
  fd = mkstemp(tmp);
  if (fd < 0) {
    SIM_ERR("%s: cannot create a temporary file: %s", tmp, strerror(errno));
    goto out_free;
  }
  (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (lock_fd) {
    /* Lock the new file before it becomes the state file, so there is no
     * instant at which the state file is unlocked. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
      SIM_ERR("%s: cannot lock: %s", tmp, strerror(errno));
      goto out_unlink_tmp;
    }
  }
  if (sim_state_write_all(fd, text, strlen(text)) ||
      sim_state_write_all(fd, "\n", 1) || fsync(fd)) {
    SIM_ERR("%s: write failed: %s", tmp, strerror(errno));
    goto out_unlink_tmp;
  }
  if (rename(tmp, real)) {
    SIM_ERR("%s: rename failed: %s", real, strerror(errno));
    goto out_unlink_tmp;
  }
  /* Make the rename itself durable. */
  sim_state_dirname(real, dir, sizeof(dir));
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
    SIM_ERR("%s: cannot make the rename durable (fsync of %s): %s", real, dir,
            strerror(errno));
    if (dfd >= 0)
      close(dfd);
    /* The new file is in place but may not survive a crash: a failure. */
    goto out_close;
  }
  close(dfd);
  if (lock_fd) {
    if (*lock_fd >= 0)
      close(*lock_fd);
    *lock_fd = fd;
    fd = -1;
  }
  rc = 0;
  goto out_close;

out_unlink_tmp:
  unlink(tmp);
out_close:
  if (fd >= 0)
    close(fd);
out_free:
  free(text);
  return rc;
}

int sim_state_save(const char *path, const struct sim_state *st, char *err,
                   size_t errcap)
{
  return sim_state_save_locked(path, st, NULL, err, errcap);
}

int sim_state_lock(const char *path, int *lock_fd, long *holder, char *err,
                   size_t errcap)
{
  char real[PATH_MAX];
  *holder = 0;
  if (sim_state_resolve(path, real, sizeof(real), err, errcap))
    return -1;
  for (int tries = 0; tries < 100; tries++) {
    int fd = open(real, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      int e = errno;
      SIM_ERR("%s: %s", path, strerror(e));
      errno = e;
      return -1;
    }
    struct stat a, b;
    if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
      close(fd);
      errno = EINVAL;
      return SIM_ERR("%s: not a regular file", path);
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
      int e = errno;
      struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
      if ((e == EAGAIN || e == EACCES) && fcntl(fd, F_GETLK, &q) == 0 &&
          q.l_type != F_UNLCK) {
        close(fd);
        *holder = (long)q.l_pid;
        errno = EBUSY;
        return SIM_ERR("%s: in use by another sqn-sim (pid %ld)", path,
                       *holder);
      }
      close(fd);
      if (e == EAGAIN || e == EACCES)
        continue; /* released meanwhile: try again */
      errno = e;
      return SIM_ERR("%s: cannot lock: %s", path, strerror(e));
    }
    /* The holder may have replaced the file between our open and our
     * lock: then we locked a file nobody will read. Start over. */
    if (stat(real, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
      close(fd);
      continue;
    }
    *lock_fd = fd;
    return 0;
  }
  errno = EBUSY;
  return SIM_ERR("%s: the file keeps changing; another process writes it",
                 path);
}

int sim_state_clean_temps(const char *path, char *err, size_t errcap)
{
  char real[PATH_MAX], dir[PATH_MAX], full[PATH_MAX + 300];
  int removed = 0;
  if (sim_state_resolve(path, real, sizeof(real), err, errcap))
    return -1;
  sim_state_dirname(real, dir, sizeof(dir));
  const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
  size_t blen = strlen(base), ilen = strlen(SIM_STATE_TMP_INFIX);
  DIR *d = opendir(dir);
  if (!d)
    return SIM_ERR("%s: %s", dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *n = de->d_name;
    if (strncmp(n, base, blen) != 0 ||
        strncmp(n + blen, SIM_STATE_TMP_INFIX, ilen) != 0 ||
        strlen(n + blen + ilen) != 6)
      continue;
    struct stat st;
    snprintf(full, sizeof(full), "%s/%s", dir, n);
    if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (unlink(full) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}

/* Read a whole regular file of at most `max` bytes through `fd` (from
 * offset 0); malloc'd, NUL-terminated. */
static char *sim_state_read_fd(int fd, const char *path, size_t max,
                               size_t *len_out, char *err, size_t errcap)
{
  struct stat st;
  if (fstat(fd, &st) != 0) {
    SIM_ERR("%s: %s", path, strerror(errno));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    SIM_ERR("%s: not a regular file", path);
    return NULL;
  }
  if ((uint64_t)st.st_size > max) {
    SIM_ERR("%s: %llu bytes, more than a state file can hold (%zu)", path,
            (unsigned long long)st.st_size, max);
    return NULL;
  }
  size_t cap = (size_t)st.st_size, len = 0;
  char *text = malloc(cap + 1);
  if (!text) {
    SIM_ERR("%s: out of memory", path);
    return NULL;
  }
  while (len < cap) {
    ssize_t n = pread(fd, text + len, cap - len, (off_t)len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      SIM_ERR("%s: read error: %s", path, strerror(errno));
      free(text);
      return NULL;
    }
    if (n == 0)
      break; /* shrank meanwhile: what we have */
    len += (size_t)n;
  }
  text[len] = '\0';
  *len_out = len;
  return text;
}

int sim_state_load_fd(int fd, const char *path, struct sim_state *st,
                      char *err, size_t errcap)
{
  size_t len = 0;
  int rc = -1;
  memset(st, 0, sizeof(*st));
  char *text = sim_state_read_fd(fd, path, SIM_STATE_FILE_MAX, &len, err,
                                 errcap);
  if (!text)
    return -1;
  if (memchr(text, '\0', len)) {
    SIM_ERR("%s: byte %zu: NUL byte in a JSON file", path,
            (size_t)((char *)memchr(text, '\0', len) - text));
    goto out_free;
  }
  {
    char inner[256];
    if (sim_state_from_json(st, text, inner, sizeof(inner)))
      SIM_ERR("%s: %s", path, inner);
    else
      rc = 0;
  }
out_free:
  free(text);
  return rc;
}

int sim_state_load(const char *path, struct sim_state *st, char *err,
                   size_t errcap)
{
  memset(st, 0, sizeof(*st));
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    SIM_ERR("%s: %s", path, strerror(e));
    errno = e;
    return -1;
  }
  int rc = sim_state_load_fd(fd, path, st, err, errcap);
  int e = errno;
  close(fd);
  if (rc == 0)
    errno = e;
  else if (errno == ENOENT)
    errno = EINVAL; /* ENOENT means "no file" to callers */
  return rc;
}
