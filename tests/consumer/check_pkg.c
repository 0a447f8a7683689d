/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A downstream program: checks a .dup package with the installed libsqnup
 * (the streaming CABA walker, as an MCU would use it) and prints its records
 * and the fff version. Exit 0 valid, 1 invalid (defect and offset named),
 * 2 usage, 3 unreadable.
 */
#include <stdio.h>
#include <string.h>

#include <sqnup/caba.h>
#include <sqnup/err.h>
#include <sqnup/update.h>

static int on_record(void *user, enum sqn_caba_event ev,
                     const struct sqn_caba_record *rec, const uint8_t *data,
                     size_t len) {
  (void)data;
  (void)len;
  struct sqn_image_version *fff = user;
  if (ev != SQN_CABA_EV_END)
    return 0;
  printf("%*s%s at %llu, %llu bytes\n", 2 * rec->depth, "", rec->magic,
         (unsigned long long)rec->offset, (unsigned long long)rec->length);
  if (rec->has_fff && rec->image.found)
    *fff = rec->image;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: check_pkg FILE.dup\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 3;
  }
  static struct sqn_caba_walker w;
  struct sqn_image_version fff;
  memset(&fff, 0, sizeof fff);
  sqn_caba_walker_init(&w, on_record, &fff);
  uint8_t buf[4096];
  size_t n;
  int err = 0;
  while (!err && (n = fread(buf, 1, sizeof buf, f)) > 0)
    err = sqn_caba_walker_feed(&w, buf, n);
  fclose(f);
  if (!err)
    err = sqn_caba_walker_finish(&w);
  if (err) {
    printf("%s: invalid: %s (%s) at byte %llu\n", argv[1],
           sqn_caba_strerror(err), sqn_caba_err_name(err),
           (unsigned long long)w.err_offset);
    return 1;
  }
  char v[32];
  printf("%s: valid, %u records, fff %s; sqn-update would exit %d on "
         "E_MODEM_NOT_DETECTED\n", argv[1], (unsigned)w.records,
         fff.found ? sqn_version_format(&fff, v, sizeof v) : "none",
         (int)sqn_err_exit(SQN_E_MODEM_NOT_DETECTED));
  return 0;
}
