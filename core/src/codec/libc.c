/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snprintf / vsnprintf / strtol / strtoul for the library (sqn_libc.h):
 * C99 semantics for the subset the library uses, no locale, no errno, no
 * floating point, no allocation. Unknown conversions are copied as text.
 */
#include "../sqn_libc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct sqn_out {
  char *buf;
  size_t cap, len; /* len counts every byte, also those beyond cap */
};

static void sqn_out_ch(struct sqn_out *o, char c) {
  if (o->len + 1 < o->cap)
    o->buf[o->len] = c;
  o->len++;
}

static void sqn_out_pad(struct sqn_out *o, char c, size_t n) {
  while (n--)
    sqn_out_ch(o, c);
}

/* One conversion's flags, width, precision and length modifier. */
struct sqn_spec {
  bool left, zero;
  size_t width;
  int prec; /* -1: none */
  int lng;  /* 0 int, 1 long, 2 long long, 3 size_t */
};

/* Parse "%[flags][width][.prec][len]" from *pp (just after the '%'),
 * leaving *pp on the conversion character. */
static void sqn_fmt_spec(const char **pp, struct sqn_spec *sp, va_list *ap) {
  const char *p = *pp;
  memset(sp, 0, sizeof *sp);
  sp->prec = -1;
  for (;; p++) {
    if (*p == '-')
      sp->left = true;
    else if (*p == '0')
      sp->zero = true;
    else if (*p != '+' && *p != ' ' && *p != '#')
      break;
  }
  if (*p == '*') {
    int w = va_arg(*ap, int);
    if (w < 0) {
      sp->left = true;
      w = -w;
    }
    sp->width = (size_t)w;
    p++;
  } else {
    while (*p >= '0' && *p <= '9')
      sp->width = sp->width * 10 + (size_t)(*p++ - '0');
  }
  if (*p == '.') {
    p++;
    sp->prec = 0;
    if (*p == '*') {
      sp->prec = va_arg(*ap, int);
      p++;
    } else {
      while (*p >= '0' && *p <= '9')
        sp->prec = sp->prec * 10 + (*p++ - '0');
    }
  }
  if (*p == 'l') {
    sp->lng = 1;
    if (*++p == 'l') {
      sp->lng = 2;
      p++;
    }
  } else if (*p == 'z') {
    sp->lng = 3;
    p++;
  } else if (*p == 'h') {
    while (*p == 'h')
      p++;
  }
  *pp = p;
}

/* %d %i %u %x %X: the digits at the end of tmp[24]; returns their start. */
static const char *sqn_fmt_int(char conv, struct sqn_spec *sp, va_list *ap,
                               char *tmp, size_t *n, bool *neg) {
  unsigned long long v;
  if (conv == 'd' || conv == 'i') {
    long long sv = sp->lng == 2   ? va_arg(*ap, long long)
                   : sp->lng == 1 ? va_arg(*ap, long)
                   : sp->lng == 3 ? (long long)va_arg(*ap, size_t)
                                  : va_arg(*ap, int);
    *neg = sv < 0;
    v = *neg ? 0ull - (unsigned long long)sv : (unsigned long long)sv;
  } else {
    v = sp->lng == 2   ? va_arg(*ap, unsigned long long)
        : sp->lng == 1 ? va_arg(*ap, unsigned long)
        : sp->lng == 3 ? va_arg(*ap, size_t)
                       : va_arg(*ap, unsigned);
  }
  unsigned base = (conv == 'x' || conv == 'X') ? 16 : 10;
  const char *digits = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  char *e = tmp + 24;
  do {
    *--e = digits[v % base];
    v /= base;
  } while (v);
  if (sp->prec >= 0) { /* minimum digits */
    while ((size_t)(tmp + 24 - e) < (size_t)sp->prec && e > tmp + 1)
      *--e = '0';
    sp->zero = false;
  }
  *n = (size_t)(tmp + 24 - e);
  return e;
}

/* Write one converted field with its padding. */
static void sqn_fmt_emit(struct sqn_out *o, const struct sqn_spec *sp,
                         const char *s, size_t n, bool neg) {
  size_t body = n + (neg ? 1 : 0);
  size_t pad = sp->width > body ? sp->width - body : 0;
  if (!sp->left && !sp->zero)
    sqn_out_pad(o, ' ', pad);
  if (neg)
    sqn_out_ch(o, '-');
  if (!sp->left && sp->zero)
    sqn_out_pad(o, '0', pad);
  for (size_t i = 0; i < n; i++)
    sqn_out_ch(o, s[i]);
  if (sp->left)
    sqn_out_pad(o, ' ', pad);
}

/* One conversion starting at the '%' *pp; leaves *pp on its last char. */
static void sqn_fmt_one(struct sqn_out *o, const char **pp, va_list *ap) {
  const char *start = *pp, *p = *pp + 1;
  struct sqn_spec sp;
  char tmp[24];
  const char *s = tmp;
  size_t n = 0;
  bool neg = false;
  sqn_fmt_spec(&p, &sp, ap);
  *pp = p;
  switch (*p) {
  case '%':
    sqn_out_ch(o, '%');
    return;
  case 'c':
    tmp[0] = (char)va_arg(*ap, int);
    n = 1;
    break;
  case 's':
    s = va_arg(*ap, const char *);
    if (!s)
      s = "(null)";
    while ((sp.prec < 0 || n < (size_t)sp.prec) && s[n])
      n++;
    sp.zero = false;
    break;
  case 'd':
  case 'i':
  case 'u':
  case 'x':
  case 'X':
    s = sqn_fmt_int(*p, &sp, ap, tmp, &n, &neg);
    break;
  default: /* not supported: print the conversion as written */
    for (const char *q = start; q <= p && *q; q++)
      sqn_out_ch(o, *q);
    if (!*p)
      *pp = p - 1;
    return;
  }
  sqn_fmt_emit(o, &sp, s, n, neg);
}

int sqn_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap) {
  struct sqn_out o = {buf, cap, 0};
  va_list aq;
  va_copy(aq, ap); /* a pointer to it can be handed on */
  for (const char *p = fmt; *p; p++) {
    if (*p != '%')
      sqn_out_ch(&o, *p);
    else
      sqn_fmt_one(&o, &p, &aq);
  }
  va_end(aq);
  if (cap)
    buf[o.len < cap ? o.len : cap - 1] = 0;
  return o.len > (size_t)INT32_MAX ? INT32_MAX : (int)o.len;
}

int sqn_snprintf(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = sqn_vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}

/* strtoul's parse: whitespace, sign, base prefix, digits. Overflow clamps
 * to ULONG_MAX (no errno). Returns the magnitude; *neg says the sign. */
static unsigned long sqn_strto(const char *s, char **end, int base,
                               bool *neg, bool *over) {
  const char *p = s;
  unsigned long v = 0;
  bool any = false;
  while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
    p++;
  *neg = *over = false;
  if (*p == '+' || *p == '-')
    *neg = *p++ == '-';
  if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 0x20) == 'x' &&
      ((p[2] >= '0' && p[2] <= '9') || ((p[2] | 0x20) >= 'a' &&
                                        (p[2] | 0x20) <= 'f'))) {
    p += 2;
    base = 16;
  } else if (base == 0) {
    base = p[0] == '0' ? 8 : 10;
  }
  for (;; p++) {
    int d;
    if (*p >= '0' && *p <= '9')
      d = *p - '0';
    else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
      d = (*p | 0x20) - 'a' + 10;
    else
      break;
    if (d >= base)
      break;
    any = true;
    if (v > (~0ul - (unsigned long)d) / (unsigned long)base)
      *over = true;
    else
      v = v * (unsigned long)base + (unsigned long)d;
  }
  if (end)
    *end = (char *)(any ? p : s);
  return *over ? ~0ul : v;
}

unsigned long sqn_strtoul(const char *s, char **end, int base) {
  bool neg, over;
  unsigned long v = sqn_strto(s, end, base, &neg, &over);
  return neg && !over ? 0ul - v : v; /* overflow stays ULONG_MAX */
}

long sqn_strtol(const char *s, char **end, int base) {
  bool neg, over;
  unsigned long v = sqn_strto(s, end, base, &neg, &over);
  unsigned long lim = neg ? (unsigned long)(~0ul >> 1) + 1ul : (~0ul >> 1);
  if (v > lim)
    v = lim;
  return neg ? (long)(0ul - v) : (long)v;
}
