/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP frame codec: encoder and incremental, byte-fed decoder.
 *
 * Frame (all fields big-endian, see protocol.md section 4.1):
 *
 *   0       4    5    6      8          12     14     16
 *   +-------+----+----+------+----------+------+------+-----------+
 *   | magic | op | sid| plen |   tid    | hcrc | pcrc | payload.. |
 *   +-------+----+----+------+----------+------+------+-----------+
 *
 * Decoder receive states, one switch in sqn_stp_step():
 *
 *   HUNT --magic--> HEADER --16 bytes, hcrc ok, plen ok--> PAYLOAD --plen--> frame
 *     ^                |  bad hcrc / plen > limit             |  bad pcrc
 *     +----------------+------ sqn_stp_reject(): drop, rescan -+
 *
 * The frame in progress always sits at buf[0..have). When it turns out to be
 * false, byte 0 (its magic) is given up and the decoder must look again at
 * buf[1..have): a real frame may have started inside the false one (noise
 * that fakes a magic in front of a real frame is the typical case). Rather
 * than recurse, sqn_stp_run() treats the buffered bytes as a second input
 * stream, "pending", consumed before the rest of the caller's bytes.
 *
 * The one subtle invariant: while pending bytes buf[r..e) are consumed, the
 * write position `have` never passes the read position r, because each byte
 * consumed advances r by one and `have` by at most one. So the in-place copy
 * (memmove) never overwrites a byte that has not been read yet. If another
 * false frame is found while consuming pending bytes, the unread rest
 * buf[r..e) is moved down to follow it, and the loop starts over on the new
 * (strictly smaller) pending region. Every reject gives up at least one byte,
 * so the loop terminates; the worst case re-reads each byte once per false
 * magic in front of it, bounded by the frame size.
 *
 * The payload state copies whole runs with memmove and checks the CRC once
 * the frame is complete, so large blocks cost one copy and one CRC pass.
 */
#include "sqnup/stp.h"

#include <string.h>

#include "sqnup/crc.h"

/* ---- names ---- */

const char *sqn_stp_drop_name(enum sqn_stp_drop reason) {
  switch (reason) {
#define XX(name, text)                                                       \
  case SQN_STP_DROP_##name:                                                  \
    return #name;
    SQN_STP_DROP_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}

const char *sqn_stp_drop_text(enum sqn_stp_drop reason) {
  switch (reason) {
#define XX(name, text)                                                       \
  case SQN_STP_DROP_##name:                                                  \
    return text;
    SQN_STP_DROP_MAP(XX)
#undef XX
  default:
    return "unknown drop reason";
  }
}

const char *sqn_stp_rx_state_name(enum sqn_stp_rx_state s) {
  switch (s) {
#define XX(name)                                                             \
  case SQN_STP_RX_##name:                                                    \
    return #name;
    SQN_STP_RX_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}

/* ---- header helpers ---- */

static void sqn_stp_put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void sqn_stp_put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint16_t sqn_stp_get16(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t sqn_stp_get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

void sqn_stp_hdr_parse(struct sqn_stp_hdr *h, const uint8_t *p) {
  h->magic = sqn_stp_get32(p);
  h->op = p[4];
  h->sid = p[5];
  h->plen = sqn_stp_get16(p + 6);
  h->tid = sqn_stp_get32(p + 8);
  h->hcrc = sqn_stp_get16(p + 12);
  h->pcrc = sqn_stp_get16(p + 14);
}

uint16_t sqn_stp_hdr_crc(const uint8_t *p) {
  static const uint8_t zero[2] = {0, 0};
  uint16_t crc = sqn_crc16(0, p, 12);
  crc = sqn_crc16(crc, zero, 2);
  return sqn_crc16(crc, p + 14, 2);
}

/* ---- encoder ---- */

size_t sqn_stp_encode(uint8_t *out, size_t cap, uint32_t magic, uint8_t op,
                      uint8_t sid, uint32_t tid, const uint8_t *payload,
                      uint16_t plen, unsigned flags) {
  size_t len = SQN_STP_HDR_LEN + (size_t)plen;
  if (!out || cap < len || (plen && !payload))
    return 0;
  uint16_t pcrc = 0;
  if (plen) {
    if (!(flags & SQN_STP_ENC_ZERO_PCRC))
      pcrc = sqn_crc16(0, payload, plen);
    /* memmove: the payload may already sit at out + 16 (in-place). */
    memmove(out + SQN_STP_HDR_LEN, payload, plen);
  }
  sqn_stp_put32(out, magic);
  out[4] = op;
  out[5] = sid;
  sqn_stp_put16(out + 6, plen);
  sqn_stp_put32(out + 8, tid);
  sqn_stp_put16(out + 12, 0);
  sqn_stp_put16(out + 14, pcrc);
  if (!(flags & SQN_STP_ENC_ZERO_HCRC))
    sqn_stp_put16(out + 12, sqn_stp_hdr_crc(out));
  return len;
}

/* ---- decoder ---- */

int sqn_stp_decoder_init(struct sqn_stp_decoder *d,
                         const struct sqn_stp_decoder_config *cfg) {
  if (!d || !cfg || !cfg->buf || cfg->magic == 0 ||
      cfg->buf_cap < SQN_STP_HDR_LEN + (size_t)cfg->max_plen)
    return -1;
  memset(d, 0, sizeof *d);
  d->cfg = *cfg;
  d->state = SQN_STP_RX_HUNT;
  return 0;
}

void sqn_stp_decoder_reset(struct sqn_stp_decoder *d) {
  d->state = SQN_STP_RX_HUNT;
  d->have = 0;
  d->need = 0;
  d->garbage = 0;
  d->shift = 0;
}

const uint8_t *sqn_stp_decoder_dropped(const struct sqn_stp_decoder *d,
                                       size_t *len) {
  if (d->state == SQN_STP_RX_HUNT) {
    if (len)
      *len = 0;
    return NULL;
  }
  if (len)
    *len = d->have;
  return d->cfg.buf;
}

/* The one drop path: count the event, tell the user. */
static void sqn_stp_drop(struct sqn_stp_decoder *d, enum sqn_stp_drop reason,
                         size_t bytes) {
  d->drops[reason]++;
  if (d->cfg.on_drop)
    d->cfg.on_drop(d->cfg.user, reason, bytes);
}

/* Offset of the first place in p[0..n) where the magic (or, near the end, a
 * prefix of it) starts; n when there is none. */
static size_t sqn_stp_find_magic(uint32_t magic, const uint8_t *p, size_t n) {
  uint8_t m[4];
  sqn_stp_put32(m, magic);
  /* A lone first byte at the very end always matches, so the loop ends
   * either there or when memchr runs out. */
  for (size_t i = 0;; i++) {
    const uint8_t *q = n > i ? memchr(p + i, m[0], n - i) : NULL;
    if (!q)
      return n;
    i = (size_t)(q - p);
    size_t k = n - i < 4 ? n - i : 4;
    if (memcmp(q, m, k) == 0)
      return i;
  }
}

/*
 * Give up the false frame at buf[0..have): report it with the bytes up to
 * the next possible magic inside it, and return that offset, where the
 * rescan starts. Leaves the decoder hunting.
 */
static size_t sqn_stp_reject(struct sqn_stp_decoder *d,
                             enum sqn_stp_drop reason) {
  size_t k = 1 + sqn_stp_find_magic(d->cfg.magic, d->cfg.buf + 1, d->have - 1);
  sqn_stp_drop(d, reason, k);
  sqn_stp_decoder_reset(d);
  return k;
}

static void sqn_stp_deliver(struct sqn_stp_decoder *d, bool hcrc_checked,
                            bool pcrc_checked) {
  struct sqn_stp_frame f;
  sqn_stp_hdr_parse(&f.hdr, d->cfg.buf);
  f.payload = d->cfg.buf + SQN_STP_HDR_LEN;
  f.raw = d->cfg.buf;
  f.raw_len = d->need;
  f.hcrc_checked = hcrc_checked;
  f.pcrc_checked = pcrc_checked;
  d->frames++;
  sqn_stp_decoder_reset(d);
  if (d->cfg.on_frame)
    d->cfg.on_frame(d->cfg.user, &f);
}

/* Verdict on a complete header or frame; SQN_STP_DROP_COUNT means "ok". */
static enum sqn_stp_drop sqn_stp_check_header(const struct sqn_stp_decoder *d,
                                              bool *checked) {
  const uint8_t *p = d->cfg.buf;
  uint16_t hcrc = sqn_stp_get16(p + 12);
  *checked = true;
  if (hcrc != sqn_stp_hdr_crc(p)) {
    if (hcrc != 0 || !(d->cfg.flags & SQN_STP_DEC_HCRC_ZERO_OK))
      return SQN_STP_DROP_BAD_HCRC;
    *checked = false;
  }
  if (sqn_stp_get16(p + 6) > d->cfg.max_plen)
    return SQN_STP_DROP_TOO_LONG;
  return SQN_STP_DROP_COUNT;
}

static enum sqn_stp_drop sqn_stp_check_payload(const struct sqn_stp_decoder *d,
                                               bool *checked) {
  const uint8_t *p = d->cfg.buf;
  uint16_t pcrc = sqn_stp_get16(p + 14);
  size_t plen = d->need - SQN_STP_HDR_LEN;
  *checked = true;
  if (plen && pcrc == 0 && (d->cfg.flags & SQN_STP_DEC_HCRC_ZERO_OK)) {
    *checked = sqn_crc16(0, p + SQN_STP_HDR_LEN, plen) == 0;
    return SQN_STP_DROP_COUNT;
  }
  if (pcrc != sqn_crc16(0, p + SQN_STP_HDR_LEN, plen))
    return SQN_STP_DROP_BAD_PCRC;
  return SQN_STP_DROP_COUNT;
}

/*
 * Consume bytes from src[0..n), which may lie inside the frame buffer past
 * the write position. Returns how many were consumed; stops right after a
 * false frame is complete, with *reject set to its reason and the frame still
 * in buf[0..have), so the caller can reject it and rescan.
 */
static size_t sqn_stp_step(struct sqn_stp_decoder *d, const uint8_t *src,
                           size_t n, enum sqn_stp_drop *reject) {
  uint8_t *buf = d->cfg.buf;
  size_t i = 0;
  bool hcrc_ok, pcrc_ok;
  *reject = SQN_STP_DROP_COUNT;
  while (i < n) {
    switch (d->state) {
    case SQN_STP_RX_HUNT: {
      uint32_t shift = d->shift, magic = d->cfg.magic;
      size_t garbage = d->garbage;
      bool found = false;
      while (i < n) {
        shift = shift << 8 | src[i++];
        /* `garbage` counts every hunted byte, so >= 4 means the register
         * holds four real bytes, not the zeros it started with. */
        if (++garbage >= 4 && shift == magic) {
          found = true;
          break;
        }
      }
      d->shift = shift;
      d->garbage = garbage;
      if (!found)
        break;
      garbage -= 4;
      d->garbage = 0;
      if (garbage)
        sqn_stp_drop(d, SQN_STP_DROP_GARBAGE, garbage);
      /* The magic bytes are at src[i-4..i), at or after buf + 0, so buf[0..4)
       * holds nothing unread. */
      sqn_stp_put32(buf, magic);
      d->shift = 0;
      d->have = 4;
      d->need = SQN_STP_HDR_LEN;
      d->state = SQN_STP_RX_HEADER;
      break;
    }
    case SQN_STP_RX_HEADER:
    case SQN_STP_RX_PAYLOAD: {
      size_t k = d->need - d->have;
      if (k > n - i)
        k = n - i;
      memmove(buf + d->have, src + i, k);
      d->have += k;
      i += k;
      if (d->have < d->need)
        break;
      if (d->state == SQN_STP_RX_HEADER) {
        *reject = sqn_stp_check_header(d, &hcrc_ok);
        if (*reject != SQN_STP_DROP_COUNT)
          return i;
        size_t plen = sqn_stp_get16(buf + 6);
        if (plen == 0) {
          /* An empty payload must still carry pcrc 0 (= CRC-16 of nothing),
           * otherwise re-encoding would not give the bytes received. */
          if (sqn_stp_get16(buf + 14) != 0) {
            *reject = SQN_STP_DROP_BAD_PCRC;
            return i;
          }
          sqn_stp_deliver(d, hcrc_ok, true);
          break;
        }
        d->need = SQN_STP_HDR_LEN + plen;
        d->state = SQN_STP_RX_PAYLOAD;
        break;
      }
      *reject = sqn_stp_check_payload(d, &pcrc_ok);
      if (*reject != SQN_STP_DROP_COUNT)
        return i;
      /* The header passed; it was checked unless it carried hcrc 0. */
      hcrc_ok = sqn_stp_get16(buf + 12) == sqn_stp_hdr_crc(buf);
      sqn_stp_deliver(d, hcrc_ok, pcrc_ok);
      break;
    }
    }
  }
  return i;
}

/*
 * Consume the pending bytes buf[r..e), then the caller's p[0..n). See the
 * overview for why the in-place moves are safe.
 */
static void sqn_stp_run(struct sqn_stp_decoder *d, size_t r, size_t e,
                        const uint8_t *p, size_t n) {
  uint8_t *buf = d->cfg.buf;
  enum sqn_stp_drop why;
  for (;;) {
    if (r < e) {
      r += sqn_stp_step(d, buf + r, e - r, &why);
    } else if (n) {
      size_t used = sqn_stp_step(d, p, n, &why);
      p += used;
      n -= used;
    } else {
      return;
    }
    if (why == SQN_STP_DROP_COUNT)
      continue;
    size_t h = d->have, rest = e - r;
    size_t k = sqn_stp_reject(d, why);
    if (rest)
      memmove(buf + h, buf + r, rest);
    r = k;
    e = h + rest;
  }
}

void sqn_stp_decoder_feed(struct sqn_stp_decoder *d, const uint8_t *buf,
                          size_t len) {
  if (!d || !buf || !len)
    return;
  sqn_stp_run(d, 0, 0, buf, len);
}

void sqn_stp_decoder_flush(struct sqn_stp_decoder *d) {
  if (!d)
    return;
  while (d->state != SQN_STP_RX_HUNT) {
    size_t h = d->have;
    size_t k = sqn_stp_reject(d, SQN_STP_DROP_TRUNCATED);
    sqn_stp_run(d, k, h, NULL, 0);
  }
  if (d->garbage)
    sqn_stp_drop(d, SQN_STP_DROP_GARBAGE, d->garbage);
  sqn_stp_decoder_reset(d);
}
