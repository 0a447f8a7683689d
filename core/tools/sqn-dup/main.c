/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-dup: synthetic Sequans .dup packages and ELF images.
 *
 *   sqn-dup build --version A.B.C.D --build N [--family lr5|lr6|lr8]
 *                 [--size BYTES] [--no-pack] [--records LIST]
 *                 [--part 1/2 | --part 2/2 --part-base A.B.C.D-BUILD] -o FILE
 *   sqn-dup build-elf [--version A.B.C.D] [--build N] [--family F]
 *                 [--label NAME] [--size BYTES] -o FILE
 *   sqn-dup info [--json] FILE
 *
 * Output files are written atomically: into a temporary file next to the
 * target, flushed, synced and renamed, so an error (or a kill) never leaves
 * a half-written package under the requested name.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dup.h"
#include "sqnup/pkg.h"
#include "tool.h"

static const char sqn_dup_usage[] =
    "usage: sqn-dup COMMAND [OPTIONS]\n"
    "\n"
    "Build synthetic Sequans Monarch upgrade packages (.dup) in the genuine\n"
    "CABA layout, build ELF images standing for updater.elf, and inspect\n"
    "packages. Nothing produced is genuine firmware.\n"
    "\n"
    "commands:\n"
    "  build      write a .dup package\n"
    "  build-elf  write an ELF32 image (big-endian, e_machine 0xA7)\n"
    "  info       print the record tree of a package and check it\n"
    "\n"
    "`sqn-dup COMMAND --help` describes each command; `sqn-dup --version`\n"
    "prints the version.\n"
    "exit codes: 0 ok, 1 invalid package, 2 usage error, 3 I/O error\n";

static const char sqn_dup_build_usage[] =
    "usage: sqn-dup build [--version A.B.C.D --build N] [--family lr5|lr6|lr8]\n"
    "                     [--size BYTES] [--no-pack] [--records LIST]\n"
    "                     [--part 1/2 | --part 2/2 --part-base A.B.C.D-BUILD]\n"
    "                     -o FILE\n"
    "\n"
    "  --version A.B.C.D  fff image version; its first number is the family\n"
    "  --build N          build number (required with --version)\n"
    "  --family F         lr5 (Cat-M1), lr6 (NB-IoT), lr8 (Monarch 2); must\n"
    "                     agree with --version; without --version the family's\n"
    "                     default: lr5 5.1.1.0 [38638], lr6 6.0.0.0 [41019],\n"
    "                     lr8 8.2.1.0 [61488] (lr5 when nothing is given)\n"
    "  --size BYTES       exact file size (padding in the fff image)\n"
    "  --no-pack          the UPGR records bare at top level, no PACK wrapper\n"
    "  --records LIST     comma-separated subset of boot,updater,fff,fs\n"
    "  --part N/2         part N of a two-part package (faults.md F20): the fff\n"
    "                     record's description says \"part N/2\"; part 1's\n"
    "                     version is the intermediate image\n"
    "  --part-base V      with --part 2/2: the intermediate version part 1\n"
    "                     leaves (e.g. 5.1.1.0-39529); required\n"
    "  -o, --output FILE  output file (written atomically)\n";

static const char sqn_dup_elf_usage[] =
    "usage: sqn-dup build-elf [--version A.B.C.D] [--build N] [--family F]\n"
    "                         [--label NAME] [--size BYTES] -o FILE\n"
    "\n"
    "  Writes a small valid ELF32 (big-endian, e_machine 0xA7) carrying the\n"
    "  text \"<label> A.B.C.D [N]\", standing for Monarch's updater.elf.\n"
    "  --label NAME       default \"updater\" (at most 16 characters)\n"
    "  --size BYTES       exact file size (at least 476)\n"
    "  other options as for `sqn-dup build`\n";

static int sqn_dup_usage_error(const char *cmd, const char *fmt,
                               const char *arg) {
  fprintf(stderr, "sqn-dup%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'sqn-dup %s%s--help'.\n", cmd ? cmd : "",
          cmd ? " " : "");
  return SQN_DUP_EXIT_USAGE;
}

/* Strict unsigned decimal, no sign, no spaces, <= max. */
static bool sqn_dup_parse_u64(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (!s || !*s)
    return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

/* "A.B.C.D", each 0..65535. */
static bool sqn_dup_parse_version(const char *s, struct sqn_image_version *v) {
  char part[8];
  for (int i = 0; i < 4; i++) {
    size_t n = 0;
    uint64_t x;
    while (*s && *s != '.' && n < sizeof part - 1)
      part[n++] = *s++;
    part[n] = '\0';
    if (!sqn_dup_parse_u64(part, 65535, &x))
      return false;
    v->v[i] = (uint16_t)x;
    if (i < 3) {
      if (*s != '.')
        return false;
      s++;
    }
  }
  if (*s)
    return false;
  v->found = true;
  return true;
}

/* --- atomic output ------------------------------------------------------ */

struct sqn_dup_out {
  FILE *f;
  int err; /* errno of the first failed write */
};

static int sqn_dup_out_write(void *user, const void *buf, size_t len) {
  struct sqn_dup_out *o = user;
  if (fwrite(buf, 1, len, o->f) != len) {
    o->err = errno ? errno : EIO;
    return -1;
  }
  return 0;
}

typedef int (*sqn_dup_producer)(const void *opts, sqn_pkg_write_cb write,
                                void *user);

static int sqn_dup_pkg_producer(const void *opts, sqn_pkg_write_cb write,
                                void *user) {
  return sqn_pkg_build(opts, write, user);
}

static int sqn_dup_elf_producer(const void *opts, sqn_pkg_write_cb write,
                                void *user) {
  return sqn_pkg_elf_build(opts, write, user);
}

/*
 * Write `path` atomically from a producer. Returns an exit code; prints the
 * error. The producer's options were validated before, so a failure here is
 * an I/O failure.
 */
static int sqn_dup_write_atomic(const char *path, sqn_dup_producer produce,
                                const void *opts) {
  struct sqn_dup_out out = {0};
  size_t plen = strlen(path);
  char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
  int fd, rc = SQN_DUP_EXIT_IO, prc;
  mode_t mask;

  if (!tmp) {
    fprintf(stderr, "sqn-dup: out of memory\n");
    return SQN_DUP_EXIT_IO;
  }
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
  fd = mkstemp(tmp);
  if (fd < 0) {
    fprintf(stderr, "sqn-dup: %s: cannot create: %s\n", path, strerror(errno));
    goto out_free_tmp;
  }
  /* mkstemp makes 0600; give the file the usual umask-derived mode. */
  mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  out.f = fdopen(fd, "wb");
  if (!out.f) {
    fprintf(stderr, "sqn-dup: %s: %s\n", tmp, strerror(errno));
    close(fd);
    goto out_unlink_tmp;
  }
  prc = produce(opts, sqn_dup_out_write, &out);
  if (prc) {
    fprintf(stderr, "sqn-dup: %s: write failed: %s\n", path,
            out.err ? strerror(out.err) : sqn_pkg_strerror(prc));
    goto out_close_file;
  }
  if (fflush(out.f) != 0 || fsync(fileno(out.f)) != 0) {
    fprintf(stderr, "sqn-dup: %s: write failed: %s\n", path, strerror(errno));
    goto out_close_file;
  }
  if (fclose(out.f) != 0) {
    out.f = NULL;
    fprintf(stderr, "sqn-dup: %s: write failed: %s\n", path, strerror(errno));
    goto out_unlink_tmp;
  }
  out.f = NULL;
  if (rename(tmp, path) != 0) {
    fprintf(stderr, "sqn-dup: %s: cannot rename into place: %s\n", path,
            strerror(errno));
    goto out_unlink_tmp;
  }
  rc = SQN_DUP_EXIT_OK;
  goto out_free_tmp;

out_close_file:
  fclose(out.f);
out_unlink_tmp:
  unlink(tmp);
out_free_tmp:
  free(tmp);
  return rc;
}

/* --- option parsing ------------------------------------------------------ */

struct sqn_dup_args {
  const char *version, *build, *family, *size, *records, *label, *output;
  const char *part, *part_base;
  bool no_pack;
  bool help;
};

/* Known options per command: bit per field. */
enum {
  SQN_DUP_OPT_VERSION = 1 << 0,
  SQN_DUP_OPT_BUILD = 1 << 1,
  SQN_DUP_OPT_FAMILY = 1 << 2,
  SQN_DUP_OPT_SIZE = 1 << 3,
  SQN_DUP_OPT_RECORDS = 1 << 4,
  SQN_DUP_OPT_LABEL = 1 << 5,
  SQN_DUP_OPT_OUTPUT = 1 << 6,
  SQN_DUP_OPT_NOPACK = 1 << 7,
  SQN_DUP_OPT_PART = 1 << 8,
};

static const struct {
  const char *name;
  unsigned bit;
  size_t field; /* offsetof the const char * in sqn_dup_args */
} sqn_dup_opts[] = {
    {"--version", SQN_DUP_OPT_VERSION, offsetof(struct sqn_dup_args, version)},
    {"--build", SQN_DUP_OPT_BUILD, offsetof(struct sqn_dup_args, build)},
    {"--family", SQN_DUP_OPT_FAMILY, offsetof(struct sqn_dup_args, family)},
    {"--size", SQN_DUP_OPT_SIZE, offsetof(struct sqn_dup_args, size)},
    {"--records", SQN_DUP_OPT_RECORDS, offsetof(struct sqn_dup_args, records)},
    {"--label", SQN_DUP_OPT_LABEL, offsetof(struct sqn_dup_args, label)},
    {"--output", SQN_DUP_OPT_OUTPUT, offsetof(struct sqn_dup_args, output)},
    {"-o", SQN_DUP_OPT_OUTPUT, offsetof(struct sqn_dup_args, output)},
    {"--part-base", SQN_DUP_OPT_PART, offsetof(struct sqn_dup_args, part_base)},
    {"--part", SQN_DUP_OPT_PART, offsetof(struct sqn_dup_args, part)},
};

/* Returns 0 or an exit code (error printed). */
static int sqn_dup_parse_args(const char *cmd, int argc, char **argv,
                              unsigned allowed, struct sqn_dup_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      a->help = true;
      return 0;
    }
    if (!strcmp(arg, "--no-pack") && (allowed & SQN_DUP_OPT_NOPACK)) {
      a->no_pack = true;
      continue;
    }
    bool matched = false;
    for (size_t k = 0; k < sizeof sqn_dup_opts / sizeof sqn_dup_opts[0]; k++) {
      size_t n = strlen(sqn_dup_opts[k].name);
      const char *val = NULL;
      if (strncmp(arg, sqn_dup_opts[k].name, n) != 0)
        continue;
      if (arg[n] == '=' && arg[1] == '-')
        val = arg + n + 1;
      else if (arg[n] != '\0')
        continue;
      if (!(allowed & sqn_dup_opts[k].bit))
        break; /* known elsewhere, not here: reported as unknown */
      if (!val) {
        if (i + 1 >= argc)
          return sqn_dup_usage_error(cmd, "option %s needs a value", arg);
        val = argv[++i];
      }
      *(const char **)((char *)a + sqn_dup_opts[k].field) = val;
      matched = true;
      break;
    }
    if (!matched) {
      if (arg[0] == '-')
        return sqn_dup_usage_error(cmd, "unknown option '%s'", arg);
      return sqn_dup_usage_error(cmd, "unexpected argument '%s'", arg);
    }
  }
  return 0;
}

/* Version, build and family into *v. Returns 0 or an exit code. */
static int sqn_dup_resolve_version(const char *cmd,
                                   const struct sqn_dup_args *a,
                                   struct sqn_image_version *v,
                                   enum sqn_pkg_family *fam) {
  uint64_t build;
  *fam = SQN_PKG_FAMILY_NONE;
  if (a->family && sqn_pkg_family_parse(a->family, fam) != 0)
    return sqn_dup_usage_error(cmd, "unknown family '%s' (lr5, lr6 or lr8)",
                               a->family);
  if (a->version) {
    memset(v, 0, sizeof *v);
    if (!sqn_dup_parse_version(a->version, v))
      return sqn_dup_usage_error(
          cmd, "bad version '%s' (want A.B.C.D, numbers 0..65535)",
          a->version);
    if (!a->build)
      return sqn_dup_usage_error(cmd, "--version %s needs --build N",
                                 a->version);
    enum sqn_pkg_family vf = sqn_pkg_family_of(v);
    if (vf == SQN_PKG_FAMILY_NONE)
      return sqn_dup_usage_error(cmd,
                                 "version '%s' is no known family: its first "
                                 "number must be 5 (lr5), 6 (lr6) or 8 (lr8)",
                                 a->version);
    if (*fam != SQN_PKG_FAMILY_NONE && *fam != vf) {
      fprintf(stderr,
              "sqn-dup %s: --family %s does not agree with --version %s "
              "(family %s)\n",
              cmd, a->family, a->version, sqn_pkg_family_name(vf));
      return SQN_DUP_EXIT_USAGE;
    }
    *fam = vf;
  } else {
    if (*fam == SQN_PKG_FAMILY_NONE)
      *fam = SQN_PKG_FAMILY_LR5;
    sqn_pkg_family_default(*fam, v);
  }
  if (a->build) {
    if (!sqn_dup_parse_u64(a->build, UINT32_MAX, &build))
      return sqn_dup_usage_error(cmd, "bad build number '%s'", a->build);
    v->build = (uint32_t)build;
  }
  return 0;
}

static int sqn_dup_parse_records(const char *cmd, const char *list,
                                 unsigned *mask) {
  const char *p = list;
  *mask = 0;
  while (*p) {
    size_t n = strcspn(p, ",");
    bool ok = false;
    for (unsigned r = 0; r < SQN_PKG_REC_COUNT; r++) {
      const char *name = sqn_pkg_rec_name((enum sqn_pkg_rec)r);
      if (strlen(name) == n && !strncmp(p, name, n)) {
        *mask |= SQN_PKG_REC_BIT(r);
        ok = true;
      }
    }
    if (!ok)
      return sqn_dup_usage_error(
          cmd, "bad --records '%s' (comma-separated boot,updater,fff,fs)",
          list);
    p += n;
    if (*p == ',')
      p++;
  }
  if (!*mask)
    return sqn_dup_usage_error(cmd, "--records '%s' selects nothing", list);
  return 0;
}

/* --- commands ------------------------------------------------------------ */

static int sqn_dup_build_main(int argc, char **argv) {
  const char *cmd = "build";
  struct sqn_dup_args a;
  struct sqn_pkg_opts o;
  struct sqn_pkg_layout l;
  enum sqn_pkg_family fam;
  int rc;

  rc = sqn_dup_parse_args(cmd, argc, argv,
                          SQN_DUP_OPT_VERSION | SQN_DUP_OPT_BUILD |
                              SQN_DUP_OPT_FAMILY | SQN_DUP_OPT_SIZE |
                              SQN_DUP_OPT_RECORDS | SQN_DUP_OPT_OUTPUT |
                              SQN_DUP_OPT_NOPACK | SQN_DUP_OPT_PART,
                          &a);
  if (rc)
    return rc;
  if (a.help) {
    fputs(sqn_dup_build_usage, stdout);
    return 0;
  }
  memset(&o, 0, sizeof o);
  rc = sqn_dup_resolve_version(cmd, &a, &o.version, &fam);
  if (rc)
    return rc;
  o.family = fam;
  o.no_pack = a.no_pack;
  o.records = SQN_PKG_REC_ALL;
  if (a.records && (rc = sqn_dup_parse_records(cmd, a.records, &o.records)))
    return rc;
  if (a.size && !sqn_dup_parse_u64(a.size, UINT64_MAX, &o.size))
    return sqn_dup_usage_error(cmd, "bad --size '%s' (want a byte count)",
                               a.size);
  if (a.size && o.size == 0)
    return sqn_dup_usage_error(cmd, "bad --size '%s' (must be > 0)", a.size);
  if (a.part) {
    if (!strcmp(a.part, "1/2"))
      o.part = 1;
    else if (!strcmp(a.part, "2/2"))
      o.part = 2;
    else
      return sqn_dup_usage_error(cmd, "bad --part '%s' (1/2 or 2/2)", a.part);
  }
  if (a.part_base) {
    if (o.part != 2)
      return sqn_dup_usage_error(cmd, "%s", "--part-base needs --part 2/2");
    if (sqn_version_parse(&o.part_base, a.part_base) != 0)
      return sqn_dup_usage_error(
          cmd, "bad --part-base '%s' (want A.B.C.D-BUILD)", a.part_base);
    o.part_base.found = true;
  } else if (o.part == 2) {
    return sqn_dup_usage_error(
        cmd, "%s", "--part 2/2 needs --part-base (part 1's version)");
  }
  if (!a.output)
    return sqn_dup_usage_error(cmd, "%s", "missing -o FILE");

  rc = sqn_pkg_layout(&o, &l);
  if (rc == SQN_PKG_E_SIZE_TOO_SMALL || rc == SQN_PKG_E_NO_FFF) {
    fprintf(stderr,
            "sqn-dup build: --size %s: %s; the minimum for these options is "
            "%llu bytes\n",
            a.size, sqn_pkg_strerror(rc), (unsigned long long)l.min_total);
    return SQN_DUP_EXIT_USAGE;
  }
  if (rc) {
    fprintf(stderr, "sqn-dup build: %s\n", sqn_pkg_strerror(rc));
    return SQN_DUP_EXIT_USAGE;
  }
  return sqn_dup_write_atomic(a.output, sqn_dup_pkg_producer, &o);
}

static int sqn_dup_build_elf_main(int argc, char **argv) {
  const char *cmd = "build-elf";
  struct sqn_dup_args a;
  struct sqn_pkg_elf_opts e;
  enum sqn_pkg_family fam;
  uint64_t size = 0;
  int rc;

  rc = sqn_dup_parse_args(cmd, argc, argv,
                          SQN_DUP_OPT_VERSION | SQN_DUP_OPT_BUILD |
                              SQN_DUP_OPT_FAMILY | SQN_DUP_OPT_SIZE |
                              SQN_DUP_OPT_LABEL | SQN_DUP_OPT_OUTPUT,
                          &a);
  if (rc)
    return rc;
  if (a.help) {
    fputs(sqn_dup_elf_usage, stdout);
    return 0;
  }
  memset(&e, 0, sizeof e);
  rc = sqn_dup_resolve_version(cmd, &a, &e.version, &fam);
  if (rc)
    return rc;
  e.label = a.label ? a.label : "updater";
  if (strlen(e.label) > SQN_PKG_LABEL_MAX || !*e.label)
    return sqn_dup_usage_error(cmd, "bad --label '%s' (1..16 characters)",
                               e.label);
  if (a.size) {
    if (!sqn_dup_parse_u64(a.size, UINT32_MAX, &size))
      return sqn_dup_usage_error(cmd, "bad --size '%s' (want a byte count)",
                                 a.size);
    if (size < SQN_PKG_ELF_FIXED) {
      fprintf(stderr,
              "sqn-dup build-elf: --size %s is below the minimum of %u bytes\n",
              a.size, SQN_PKG_ELF_FIXED);
      return SQN_DUP_EXIT_USAGE;
    }
    e.filler = (uint32_t)(size - SQN_PKG_ELF_FIXED);
  }
  if (!a.output)
    return sqn_dup_usage_error(cmd, "%s", "missing -o FILE");
  return sqn_dup_write_atomic(a.output, sqn_dup_elf_producer, &e);
}

int main(int argc, char **argv) {
  if (sqn_tool_wants_version(argc, argv)) {
    sqn_tool_print_version(stdout, "sqn-dup");
    return 0;
  }
  if (argc < 2) {
    fputs(sqn_dup_usage, stderr);
    return SQN_DUP_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(sqn_dup_usage, stdout);
    return 0;
  }
  if (!strcmp(cmd, "build"))
    return sqn_dup_build_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "build-elf"))
    return sqn_dup_build_elf_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "info"))
    return sqn_dup_info_main(argc - 1, argv + 1);
  return sqn_dup_usage_error(NULL, "unknown command '%s'", cmd);
}
