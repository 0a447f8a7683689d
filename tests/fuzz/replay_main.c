/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz-target replay driver: runs LLVMFuzzerTestOneInput over every regular
 * file named on the command line or found (non-recursively) in a directory
 * named there, so the corpus and minimized crashes replay as ordinary tests
 * under gcc, without libFuzzer. Generic: link it with any fuzz_*.c.
 *
 *   replay_<target> <dir-or-file>...
 *
 * Exit status: 0 when every input ran (a property violation inside the target
 * aborts), 2 on a usage or I/O error, including a corpus with no files at
 * all, since an empty corpus usually means a wrong path rather than success.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; returns 0, or -1 (with a message) when it cannot be read. */
static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: cannot open\n", path);
    return -1;
  }
  size_t cap = 4096, len = 0, n;
  uint8_t *buf = malloc(cap);
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (!buf || err) {
    fprintf(stderr, "replay: %s: read error\n", path);
    free(buf);
    return -1;
  }
  /* Copy into an exact-size buffer so ASan catches reads past the end,
   * as libFuzzer's own buffers would. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int replay_name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in `dir` in name order; returns the count run, or
 * -1 on an error. */
static long replay_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "replay: %s: cannot open directory\n", dir);
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  long ran = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    if (n == cap) {
      char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
      if (!nn) {
        ran = -1;
        goto out_free_names;
      }
      names = nn;
    }
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    if (!(names[n] = malloc(len))) {
      ran = -1;
      goto out_free_names;
    }
    snprintf(names[n++], len, "%s/%s", dir, de->d_name);
  }
  qsort(names, n, sizeof *names, replay_name_cmp);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (replay_file(names[i]) != 0) {
      ran = -1;
      goto out_free_names;
    }
    ran++;
  }
out_free_names:
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  closedir(d);
  return ran;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <corpus-dir-or-file>...\n", argv[0]);
    return 2;
  }
  long total = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
      return 2;
    }
    long ran = S_ISDIR(st.st_mode) ? replay_dir(argv[i])
                                   : (replay_file(argv[i]) == 0 ? 1 : -1);
    if (ran < 0)
      return 2;
    total += ran;
  }
  if (total == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 2;
  }
  printf("replay: %ld inputs ran\n", total);
  return 0;
}
