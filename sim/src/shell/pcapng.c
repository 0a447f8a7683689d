/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sqn-sim --decode TRACE --pcapng FILE`: any recorded session (sim/tracefile.h
 * formats) as a pcapng capture for Wireshark (share/wireshark/sqnup.lua).
 *
 * Written by hand: pcapng is three block types here (SHB, IDB, EPB), and
 * Debian 12 has no library that writes it for a custom link type without
 * a capture device (libpcap's pcap_dump writes classic pcap only; libwiretap
 * is Wireshark's internal library without a stable API; light_pcapng is not
 * packaged).
 *
 * Link type LINKTYPE_USER0 (147). Every packet starts with a 4-byte header:
 *
 *   byte 0  'S' (0x53), the header's version mark
 *   byte 1  direction: 0 host -> modem, 1 modem -> host, 2 note
 *   byte 2  protocol:  1 AT line (no line ending), 2 STP frame,
 *                      3 raw bytes (a cut frame, junk), 4 note text
 *   byte 3  flags: 0x1 the STP payload was not recorded (sqn-sim's own
 *           trace keeps only a BLOCK's header) and the recorder found its
 *           CRC good, 0x2 ... and found it bad; the packet's original
 *           length is then the whole frame's
 *
 * followed by the unit's bytes; a note is "kind: text" ("mode: boot FFF").
 * With --reads, a socat -x dump's chunks stay as recorded: one packet of
 * protocol 3 per read, which the dissector reassembles into lines and
 * frames.
 * Timestamps are the trace's times from 1970-01-01 00:00:00 (the trace knows
 * no wall-clock start), microsecond resolution; epb_flags carries the
 * direction too (host -> modem outbound, modem -> host inbound), as seen
 * from the host.
 */
#include "shell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/tracefile.h"

#define SIM_PCAPNG_LINKTYPE 147u

struct sim_pcapng_buf {
  uint8_t *p;
  size_t n;
  size_t cap;
  int oom;
};

static void sim_pb_put(struct sim_pcapng_buf *b, const void *d, size_t n) {
  if (b->oom)
    return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->n + n)
      cap *= 2;
    uint8_t *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}

static void sim_pb_u16(struct sim_pcapng_buf *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  sim_pb_put(b, x, 2);
}

static void sim_pb_u32(struct sim_pcapng_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                  (uint8_t)(v >> 24)};
  sim_pb_put(b, x, 4);
}

static void sim_pb_pad(struct sim_pcapng_buf *b) {
  static const uint8_t zero[4];
  sim_pb_put(b, zero, (4 - b->n % 4) % 4);
}

static void sim_pb_opt(struct sim_pcapng_buf *b, uint16_t code, const void *d,
                       uint16_t n) {
  sim_pb_u16(b, code);
  sim_pb_u16(b, n);
  sim_pb_put(b, d, n);
  sim_pb_pad(b);
}

/* Patch the block's two length fields once its body is written. */
static void sim_pb_close_block(struct sim_pcapng_buf *b, size_t start) {
  sim_pb_u32(b, 0); /* trailing length, patched below */
  if (b->oom)
    return;
  uint32_t len = (uint32_t)(b->n - start);
  for (int i = 0; i < 4; i++) {
    b->p[start + 4 + i] = (uint8_t)(len >> (8 * i));
    b->p[b->n - 4 + i] = (uint8_t)(len >> (8 * i));
  }
}

static void sim_pcapng_header(struct sim_pcapng_buf *b) {
  size_t start = b->n;
  sim_pb_u32(b, 0x0A0D0D0Au); /* SHB */
  sim_pb_u32(b, 0);
  sim_pb_u32(b, 0x1A2B3C4Du);
  sim_pb_u16(b, 1);
  sim_pb_u16(b, 0);
  sim_pb_u32(b, 0xffffffffu); /* section length unknown */
  sim_pb_u32(b, 0xffffffffu);
  static const char app[] = "sqn-sim --pcapng";
  sim_pb_opt(b, 4, app, sizeof app - 1); /* shb_userappl */
  sim_pb_u32(b, 0);                      /* opt_endofopt */
  sim_pb_close_block(b, start);

  start = b->n;
  sim_pb_u32(b, 1); /* IDB */
  sim_pb_u32(b, 0);
  sim_pb_u16(b, SIM_PCAPNG_LINKTYPE);
  sim_pb_u16(b, 0);
  sim_pb_u32(b, 0); /* snaplen: none */
  static const char ifname[] = "sqnup modem link";
  sim_pb_opt(b, 2, ifname, sizeof ifname - 1); /* if_name */
  uint8_t tsresol = 6;
  sim_pb_opt(b, 9, &tsresol, 1); /* if_tsresol: microseconds */
  sim_pb_u32(b, 0);
  sim_pb_close_block(b, start);
}

static void sim_pcapng_packet(struct sim_pcapng_buf *b,
                              const struct sim_trec *r) {
  size_t start = b->n;
  uint8_t hdr[4] = {'S', (uint8_t)r->dir, (uint8_t)r->proto,
                    (uint8_t)r->flags};
  size_t body = r->len;
  size_t kindlen = 0;
  if (r->proto == SIM_TREC_TEXT) {
    kindlen = strlen(r->kind) + 2;
    body += kindlen;
  }
  uint32_t caplen = (uint32_t)(4 + body);
  sim_pb_u32(b, 6); /* EPB */
  sim_pb_u32(b, 0);
  sim_pb_u32(b, 0); /* interface 0 */
  sim_pb_u32(b, (uint32_t)(r->t_us >> 32));
  sim_pb_u32(b, (uint32_t)r->t_us);
  sim_pb_u32(b, caplen);
  sim_pb_u32(b, (uint32_t)(caplen + (r->orig_len - r->len)));
  sim_pb_put(b, hdr, 4);
  if (kindlen) {
    sim_pb_put(b, r->kind, kindlen - 2);
    sim_pb_put(b, ": ", 2);
  }
  sim_pb_put(b, r->data, r->len);
  sim_pb_pad(b);
  if (r->dir != SIM_TREC_NOTE) {
    uint32_t flags = r->dir == SIM_TREC_HOST ? 2u : 1u; /* out / in */
    uint8_t f[4] = {(uint8_t)flags, 0, 0, 0};
    sim_pb_opt(b, 2, f, 4); /* epb_flags */
    sim_pb_u32(b, 0);
  }
  sim_pb_close_block(b, start);
}

int sim_pcapng_export(const char *trace_path, const char *out_path,
                      bool reads) {
  struct sim_tracefile tf;
  char err[512];
  if (sim_tracefile_load_ex(trace_path, &tf, reads ? SIM_TRACEFILE_READS : 0,
                            err, sizeof err) != 0) {
    fprintf(stderr, "sqn-sim: %s\n", err);
    return SIM_EXIT_INPUT;
  }
  struct sim_pcapng_buf b = {0};
  sim_pcapng_header(&b);
  for (size_t i = 0; i < tf.n; i++) {
    if (tf.rec[i].len > 0xffff0000u)
      continue;
    sim_pcapng_packet(&b, &tf.rec[i]);
  }
  size_t packets = tf.n;
  sim_tracefile_free(&tf);
  if (b.oom) {
    free(b.p);
    fprintf(stderr, "sqn-sim: out of memory writing %s\n", out_path);
    return SIM_EXIT_RUNTIME;
  }
  /* Atomic: a temporary file next to the target, then rename. */
  size_t pn = strlen(out_path) + 16;
  char *tmp = malloc(pn);
  if (!tmp) {
    free(b.p);
    return SIM_EXIT_RUNTIME;
  }
  snprintf(tmp, pn, "%s.tmpXXXXXX", out_path);
  int fd = mkstemp(tmp);
  int rc = SIM_EXIT_OK;
  if (fd < 0) {
    fprintf(stderr, "sqn-sim: --pcapng %s: %s\n", out_path, strerror(errno));
    rc = SIM_EXIT_RUNTIME;
  } else {
    size_t off = 0;
    while (off < b.n) {
      ssize_t w = write(fd, b.p + off, b.n - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        fprintf(stderr, "sqn-sim: --pcapng %s: %s\n", out_path,
                strerror(errno));
        rc = SIM_EXIT_RUNTIME;
        break;
      }
      off += (size_t)w;
    }
    if (close(fd) != 0 && rc == SIM_EXIT_OK) {
      fprintf(stderr, "sqn-sim: --pcapng %s: %s\n", out_path,
              strerror(errno));
      rc = SIM_EXIT_RUNTIME;
    }
    if (rc == SIM_EXIT_OK && rename(tmp, out_path) != 0) {
      fprintf(stderr, "sqn-sim: --pcapng %s: %s\n", out_path,
              strerror(errno));
      rc = SIM_EXIT_RUNTIME;
    }
    if (rc != SIM_EXIT_OK)
      unlink(tmp);
  }
  if (rc == SIM_EXIT_OK)
    printf("%s: %zu packets\n", out_path, packets);
  free(tmp);
  free(b.p);
  return rc;
}
