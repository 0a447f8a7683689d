/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image versions: "A.B.C.D [BUILD]" inside records, "LR5.1.1.0-38638" in
 * ATI1 replies. One parser for the forms a user or a modem writes, one
 * ordering, one canonical format.
 */
#include "sqnup/caba.h"

#include "../sqn_libc.h"

static bool sqn_version_digit(char c) { return c >= '0' && c <= '9'; }

/* Parse 1..maxd digits into *out (<= maxv); advances *s. */
static bool sqn_version_num(const char **s, unsigned maxd, uint32_t maxv,
                            uint32_t *out) {
  const char *p = *s;
  uint64_t v = 0;
  unsigned d = 0;
  while (sqn_version_digit(*p)) {
    if (++d > maxd)
      return false;
    v = v * 10 + (uint64_t)(*p++ - '0');
  }
  if (d == 0 || v > maxv)
    return false;
  *s = p;
  *out = (uint32_t)v;
  return true;
}

int sqn_version_parse(struct sqn_image_version *out, const char *text) {
  struct sqn_image_version v = {0};
  const char *p = text;
  uint32_t x;
  if (!out || !text)
    return -1;
  /* Family prefix such as "LR" (letters only). */
  while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
    p++;
  for (int k = 0; k < 4; k++) {
    if (k > 0 && *p++ != '.')
      return -1;
    if (!sqn_version_num(&p, 5, 0xFFFFu, &x))
      return -1;
    v.v[k] = (uint16_t)x;
  }
  if (*p == '-') {
    p++;
    if (!sqn_version_num(&p, 10, UINT32_MAX, &v.build))
      return -1;
  } else if (p[0] == ' ' && p[1] == '[') {
    p += 2;
    if (!sqn_version_num(&p, 10, UINT32_MAX, &v.build) || *p++ != ']')
      return -1;
  }
  if (*p != '\0')
    return -1;
  v.found = true;
  *out = v;
  return 0;
}

int sqn_version_cmp(const struct sqn_image_version *a,
                    const struct sqn_image_version *b) {
  /* A version that was not found orders before every found one. */
  if (a->found != b->found)
    return a->found ? 1 : -1;
  if (!a->found)
    return 0;
  for (int k = 0; k < 4; k++)
    if (a->v[k] != b->v[k])
      return a->v[k] < b->v[k] ? -1 : 1;
  if (a->build != b->build)
    return a->build < b->build ? -1 : 1;
  return 0;
}

char *sqn_version_format(const struct sqn_image_version *v, char *buf,
                         size_t cap) {
  if (!buf || cap == 0)
    return buf;
  if (!v || !v->found)
    snprintf(buf, cap, "unknown");
  else
    snprintf(buf, cap, "%u.%u.%u.%u-%lu", (unsigned)v->v[0],
             (unsigned)v->v[1], (unsigned)v->v[2], (unsigned)v->v[3],
             (unsigned long)v->build);
  return buf;
}
