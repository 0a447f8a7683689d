/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sqn-dup info`: stream a package through the CABA walker in 64 KiB chunks
 * (the file is never held whole) and print its record tree, one line per
 * record in file order, then a summary; or one JSON object with --json.
 *
 * Records are printed after the walk, because a PACK's verdict is only
 * known after all its children; the walker's BEGIN events give the order,
 * END events the verdicts. On the first defect the records seen so far are
 * printed (unfinished ones marked "incomplete") and the defect is named
 * with the record's offset and the byte where it was detected.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dup.h"
#include "sqnup/caba.h"
#include "sqnup/pkg.h"

#define SQN_DUP_CHUNK (64u * 1024u)
/* The largest package `info` reads: real Monarch packages are a few MiB
 * (the biggest GM02S full image is under 10 MiB); 64 MiB leaves room and
 * still ends in well under a second. */
#define SQN_DUP_INFO_MAX (64ull * 1024u * 1024u)

static const char sqn_dup_info_usage[] =
    "usage: sqn-dup info [--json] FILE\n"
    "\n"
    "  Walks the package record by record (streaming, 64 KiB at a time),\n"
    "  checks every signature, UPGR target and FFF! image, and prints the\n"
    "  record tree and a summary. Exit 0 if the package is valid, 1 if not\n"
    "  (the first defect is named with its offset), 2 on usage errors, 3 if\n"
    "  the file cannot be read.\n"
    "  --json  print one JSON object instead\n";

struct sqn_dup_rec {
  struct sqn_caba_record rec;
  bool done;
};

struct sqn_dup_info {
  struct sqn_dup_rec *recs;
  size_t n, cap;
  bool oom;
};

static int sqn_dup_info_cb(void *user, enum sqn_caba_event ev,
                           const struct sqn_caba_record *rec,
                           const uint8_t *data, size_t len) {
  struct sqn_dup_info *in = user;
  (void)data;
  (void)len;
  if (ev == SQN_CABA_EV_BEGIN) {
    if (in->n == in->cap) {
      size_t cap = in->cap ? in->cap * 2 : 16;
      struct sqn_dup_rec *r = realloc(in->recs, cap * sizeof *r);
      if (!r) {
        in->oom = true;
        return 1;
      }
      in->recs = r;
      in->cap = cap;
    }
    in->recs[in->n].rec = *rec;
    in->recs[in->n].done = false;
    in->n++;
  } else if (ev == SQN_CABA_EV_END) {
    for (size_t i = in->n; i-- > 0;)
      if (in->recs[i].rec.offset == rec->offset && !in->recs[i].done) {
        in->recs[i].rec = *rec;
        in->recs[i].done = true;
        break;
      }
  }
  return 0;
}

static const char *sqn_dup_sig_name(uint16_t t) {
  switch (t) {
  case 0:
    return "none";
  case 1:
    return "fletcher32";
  case 4:
    return "crc32";
  default:
    return "unknown";
  }
}

static void sqn_dup_fmt_version(const struct sqn_image_version *v, char *buf,
                                size_t cap) {
  if (!v->found)
    snprintf(buf, cap, "unknown");
  else
    snprintf(buf, cap, "LR%u.%u.%u.%u-%" PRIu32, v->v[0], v->v[1], v->v[2],
             v->v[3], v->build);
}

/* The fff record's version: what the modem would report after the upgrade. */
static const struct sqn_caba_record *
sqn_dup_fff_record(const struct sqn_dup_info *in) {
  for (size_t i = 0; i < in->n; i++)
    if (in->recs[i].rec.has_target &&
        in->recs[i].rec.target == SQN_CABA_TARGET_FFF)
      return &in->recs[i].rec;
  return NULL;
}

/* A record's signature verdict. An unfinished record is "incomplete",
 * unless the walker stopped on its signature: then it is a "mismatch". */
static const char *sqn_dup_sig_verdict(const struct sqn_dup_info *in, size_t i,
                                       const struct sqn_caba_walker *w) {
  const struct sqn_caba_record *r = &in->recs[i].rec;
  if (in->recs[i].done)
    return r->sig_ok ? "ok" : "bad";
  if (w->err == SQN_CABA_E_BAD_SIG && w->err_record == r->offset)
    return "mismatch";
  return "incomplete";
}

static void sqn_dup_print_text(const char *path, const struct sqn_dup_info *in,
                               uint64_t total,
                               const struct sqn_caba_walker *w) {
  bool ok = w->err == 0;
  char ver[48];
  printf("%s: %" PRIu64 " bytes\n", path, total);
  for (size_t i = 0; i < in->n; i++) {
    const struct sqn_caba_record *r = &in->recs[i].rec;
    printf("%*s%s v%u @%" PRIu64 " (0x%" PRIx64 ") len %" PRIu64, 2 + 2 * r->depth,
           "", r->magic, r->version, r->offset, r->offset, r->length);
    if (r->version == 3)
      printf(" \"%s\"", r->descr);
    printf(" data %" PRIu32 " sig %s %s", r->data_size,
           sqn_dup_sig_name(r->sig_type), sqn_dup_sig_verdict(in, i, w));
    if (r->has_target) {
      const char *tn = sqn_pkg_target_name(r->target);
      if (tn)
        printf(" target %s", tn);
      else
        printf(" target 0x%08" PRIx32, r->target);
    }
    if (r->image.found) {
      sqn_dup_fmt_version(&r->image, ver, sizeof ver);
      printf(" image %s", ver);
    }
    if (r->has_fff)
      printf(" fff-payload %" PRIu32, r->fff_payload_len);
    putchar('\n');
  }
  if (!ok)
    return;
  const struct sqn_caba_record *fff = sqn_dup_fff_record(in);
  enum sqn_pkg_family fam =
      fff ? sqn_pkg_family_of(&fff->image) : SQN_PKG_FAMILY_NONE;
  if (fff)
    sqn_dup_fmt_version(&fff->image, ver, sizeof ver);
  char fam_text[32] = "unknown";
  if (fam) {
    const char *name = sqn_pkg_family_name(fam); /* "lr5" */
    snprintf(fam_text, sizeof fam_text, "LR%s (%s)", name + 2,
             sqn_pkg_family_what(fam));
  }
  printf("summary: family %s, fff %s, %zu records, %" PRIu64 " bytes, valid\n",
         fam_text, fff ? ver : "absent", in->n, total);
}

static json_t *sqn_dup_json_version(const struct sqn_image_version *v) {
  char ver[48];
  if (!v->found)
    return json_null();
  sqn_dup_fmt_version(v, ver, sizeof ver);
  return json_string(ver);
}

static void sqn_dup_print_json(const char *path, const struct sqn_dup_info *in,
                               uint64_t total, const struct sqn_caba_walker *w) {
  json_t *root = json_object(), *arr = json_array();
  for (size_t i = 0; i < in->n; i++) {
    const struct sqn_caba_record *r = &in->recs[i].rec;
    json_t *o = json_object();
    json_object_set_new(o, "offset", json_integer((json_int_t)r->offset));
    json_object_set_new(o, "length", json_integer((json_int_t)r->length));
    json_object_set_new(o, "depth", json_integer(r->depth));
    json_object_set_new(o, "magic", json_string(r->magic));
    json_object_set_new(o, "caba_version", json_integer(r->version));
    if (r->version == 3)
      json_object_set_new(o, "descr", json_string(r->descr));
    json_object_set_new(o, "data_size", json_integer(r->data_size));
    json_object_set_new(o, "sig_type", json_string(sqn_dup_sig_name(r->sig_type)));
    json_object_set_new(o, "sig",
                        json_string(sqn_dup_sig_verdict(in, i, w)));
    if (r->has_target) {
      const char *tn = sqn_pkg_target_name(r->target);
      json_object_set_new(o, "target", tn ? json_string(tn)
                                          : json_integer(r->target));
    }
    json_object_set_new(o, "image", sqn_dup_json_version(&r->image));
    if (r->has_fff)
      json_object_set_new(o, "fff_payload_len",
                          json_integer(r->fff_payload_len));
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "file", json_string(path));
  json_object_set_new(root, "size", json_integer((json_int_t)total));
  json_object_set_new(root, "valid", json_boolean(w->err == 0));
  json_object_set_new(root, "records", arr);
  if (w->err == 0) {
    const struct sqn_caba_record *fff = sqn_dup_fff_record(in);
    enum sqn_pkg_family fam =
        fff ? sqn_pkg_family_of(&fff->image) : SQN_PKG_FAMILY_NONE;
    json_object_set_new(root, "family", fam ? json_string(sqn_pkg_family_name(fam))
                                            : json_null());
    json_object_set_new(root, "fff_version",
                        fff ? sqn_dup_json_version(&fff->image) : json_null());
  } else {
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(sqn_caba_err_name(w->err)));
    json_object_set_new(e, "reason", json_string(sqn_caba_strerror(w->err)));
    json_object_set_new(e, "record_offset", json_integer((json_int_t)w->err_record));
    json_object_set_new(e, "record_magic", json_string(w->err_magic));
    json_object_set_new(e, "detected_at", json_integer((json_int_t)w->err_offset));
    json_object_set_new(root, "error", e);
  }
  char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s) {
    puts(s);
    free(s);
  }
  json_decref(root);
}

int sqn_dup_info_main(int argc, char **argv) {
  const char *path = NULL;
  bool json = false;
  struct sqn_dup_info in = {0};
  struct sqn_caba_walker *w = NULL;
  uint8_t *buf = NULL;
  uint64_t total = 0;
  FILE *f;
  int rc = SQN_DUP_EXIT_IO;

  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(sqn_dup_info_usage, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--json")) {
      json = true;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "sqn-dup info: unknown option '%s'\nTry 'sqn-dup info "
                      "--help'.\n", argv[i]);
      return SQN_DUP_EXIT_USAGE;
    } else if (path) {
      fprintf(stderr, "sqn-dup info: one FILE only ('%s' is extra)\n", argv[i]);
      return SQN_DUP_EXIT_USAGE;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    fprintf(stderr, "sqn-dup info: missing FILE\nTry 'sqn-dup info --help'.\n");
    return SQN_DUP_EXIT_USAGE;
  }

  /* A regular file of plausible size only: /dev/zero, /dev/urandom or a
   * FIFO never end, a 20 GB sparse file takes minutes. O_NONBLOCK: opening
   * a FIFO must not wait for a writer. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0) {
    fprintf(stderr, "sqn-dup info: %s: %s\n", path, strerror(errno));
    return SQN_DUP_EXIT_IO;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "sqn-dup info: %s: not a regular file\n", path);
    close(fd);
    return SQN_DUP_EXIT_IO;
  }
  if ((uint64_t)st.st_size > SQN_DUP_INFO_MAX) {
    fprintf(stderr,
            "sqn-dup info: %s: %" PRIu64 " bytes, larger than any plausible "
            "package (at most %llu)\n",
            path, (uint64_t)st.st_size, (unsigned long long)SQN_DUP_INFO_MAX);
    close(fd);
    return SQN_DUP_EXIT_INVALID;
  }
  f = fdopen(fd, "rb");
  if (!f) {
    fprintf(stderr, "sqn-dup info: %s: %s\n", path, strerror(errno));
    close(fd);
    return SQN_DUP_EXIT_IO;
  }
  w = malloc(sizeof *w);
  buf = malloc(SQN_DUP_CHUNK);
  if (!w || !buf) {
    fprintf(stderr, "sqn-dup info: out of memory\n");
    goto out_free;
  }
  sqn_caba_walker_init(w, sqn_dup_info_cb, &in);
  for (;;) {
    size_t n = fread(buf, 1, SQN_DUP_CHUNK, f);
    if (n == 0) {
      if (ferror(f)) {
        fprintf(stderr, "sqn-dup info: %s: read error at byte %" PRIu64 ": %s\n",
                path, total, strerror(errno));
        goto out_free;
      }
      break;
    }
    total += n;
    sqn_caba_walker_feed(w, buf, n);
    /* Stop at the first defect; the size comes from fstat. */
    if (w->err || total >= SQN_DUP_INFO_MAX)
      break;
  }
  total = (uint64_t)st.st_size;
  sqn_caba_walker_finish(w);
  if (in.oom) {
    fprintf(stderr, "sqn-dup info: out of memory\n");
    goto out_free;
  }
  if (json)
    sqn_dup_print_json(path, &in, total, w);
  else
    sqn_dup_print_text(path, &in, total, w);
  if (w->err == SQN_CABA_E_EMPTY) {
    fprintf(stderr, "%s: %s (the file is empty)\n", path,
            sqn_caba_strerror(w->err));
    rc = SQN_DUP_EXIT_INVALID;
  } else if (w->err) {
    if (w->err_magic[0])
      fprintf(stderr,
              "%s: record %s at byte %" PRIu64 " (0x%" PRIx64 "): %s "
              "(detected at byte %" PRIu64 ")\n",
              path, w->err_magic, w->err_record, w->err_record,
              sqn_caba_strerror(w->err), w->err_offset);
    else
      fprintf(stderr,
              "%s: record header at byte %" PRIu64 " (0x%" PRIx64 "): %s "
              "(detected at byte %" PRIu64 ")\n",
              path, w->err_record, w->err_record, sqn_caba_strerror(w->err),
              w->err_offset);
    rc = SQN_DUP_EXIT_INVALID;
  } else {
    rc = SQN_DUP_EXIT_OK;
  }

out_free:
  free(buf);
  free(w);
  free(in.recs);
  fclose(f);
  return rc;
}
