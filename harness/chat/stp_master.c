/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP masters that behave like the named real hosts (protocol.md 4.5, 4.6).
 *
 *   wipe -> RESET(0,0) -> OPEN(1,1) -> { BLOCK_CMD(t) , BLOCK(t+1) }* -> RESET
 *
 * flavor      file reads  block size               tids            checks      final RESET
 * pycom       2048        min(left, mts-16, 2016)  CMD t, BLOCK t+1 op/sid/tid  sid 1, tid t, reply ignored (2 s)
 * pycom2018   1536        same                     same            same, raises on wrong magic
 * walter      whole       mts-16                   2+2k / 3+2k     none        0/0, awaits its 16-byte ack
 * walter-espidf           as walter, and a short read anywhere fails the upgrade
 * microchip   whole       mts-16                   +1 per request  op/sid/tid  current ids, reply ignored
 *
 * Responses are read the way those hosts read them: exactly 16 header bytes,
 * then the payload length they expect (not the plen the slave announced).
 * The Pycom retry rules are kept: a short read resends the same frame (4
 * attempts per frame), a semantic failure costs one unit of a budget of 4
 * for the whole transfer.
 */
#include "chat.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sqnup/crc.h"
#include "sqnup/stp.h"

enum harness_stp_flavor {
  HARNESS_STP_PYCOM,
  HARNESS_STP_PYCOM2018,
  HARNESS_STP_WALTER,
  HARNESS_STP_WALTER_ESPIDF,
  HARNESS_STP_MICROCHIP,
  HARNESS_STP_COUNT
};

static const char *const harness_stp_flavor_names[HARNESS_STP_COUNT] = {
    "pycom", "pycom2018", "walter", "walter-espidf", "microchip"};

int harness_stp_flavor_known(const char *flavor) {
  for (int i = 0; i < HARNESS_STP_COUNT; i++)
    if (strcmp(flavor, harness_stp_flavor_names[i]) == 0)
      return 1;
  return 0;
}

struct harness_stp {
  struct harness_port *port;
  enum harness_stp_flavor flavor;
  uint64_t timeout_us; /* per read */
  unsigned budget;     /* Pycom semantic-failure budget */
  char *err;
  size_t errcap;
  uint8_t rsp[16 + 4];
  struct sqn_stp_hdr hdr;
  uint8_t frame[16 + 8192];
};

static bool harness_stp_pycom_like(const struct harness_stp *m) {
  return m->flavor == HARNESS_STP_PYCOM || m->flavor == HARNESS_STP_PYCOM2018;
}

/* One exchange: send a request, read 16 + `extra` bytes. Returns 0 when the
 * response arrived and passed the flavor's checks; -1 with `err` when the
 * host would give up. Retries follow the Pycom rules for Pycom flavors. */
static int harness_stp_xfer(struct harness_stp *m, uint8_t op, uint8_t sid,
                            uint32_t tid, const uint8_t *payload,
                            uint16_t plen, size_t extra, bool check) {
  size_t n = sqn_stp_encode(m->frame, sizeof m->frame, SQN_STP_MAGIC_REQ, op,
                            sid, tid, payload, plen, 0);
  if (!n) {
    snprintf(m->err, m->errcap, "STP: cannot encode op %u plen %u", op, plen);
    return -1;
  }
  unsigned attempts = harness_stp_pycom_like(m) ? 4 : 1;
  for (;;) {
    if (harness_port_write(m->port, m->frame, n, m->timeout_us, m->err,
                           m->errcap) != 0)
      return -1;
    long got = harness_port_read(m->port, m->rsp, 16 + extra, m->timeout_us);
    if (got < 0) {
      snprintf(m->err, m->errcap, "STP: read error");
      return -1;
    }
    if ((size_t)got < 16 + extra) {
      if (--attempts > 0)
        continue; /* transport failure: resend the same frame */
      snprintf(m->err, m->errcap,
               "STP: no answer to op %u (tid %lu): %ld of %zu bytes", op,
               (unsigned long)tid, got, 16 + extra);
      return -1;
    }
    sqn_stp_hdr_parse(&m->hdr, m->rsp);
    if (!check)
      return 0;
    if (m->hdr.magic != SQN_STP_MAGIC_RSP) {
      if (m->flavor == HARNESS_STP_PYCOM2018) {
        snprintf(m->err, m->errcap, "Exception: Invalid response magic 0x%08lx",
                 (unsigned long)m->hdr.magic);
        return -1;
      }
      if (harness_stp_pycom_like(m))
        fprintf(stderr, "STP: wrong response magic 0x%08lx\n",
                (unsigned long)m->hdr.magic);
    }
    if (m->hdr.hcrc != 0 && m->hdr.hcrc != sqn_stp_hdr_crc(m->rsp) &&
        harness_stp_pycom_like(m)) {
      if (--attempts > 0)
        continue;
      snprintf(m->err, m->errcap, "STP: bad header CRC in reply to op %u", op);
      return -1;
    }
    bool ok = m->hdr.op == (op | SQN_STP_ACK) && m->hdr.sid == sid &&
              m->hdr.tid == tid;
    if (op == SQN_STP_OP_RESET && harness_stp_pycom_like(m))
      ok = m->hdr.op == (op | SQN_STP_ACK); /* sid/tid not checked */
    if (extra && ok) {
      ok = m->hdr.plen == extra;
      if (ok && m->hdr.pcrc != 0)
        ok = m->hdr.pcrc == sqn_crc16(0, m->rsp + 16, extra);
    }
    if (ok)
      return 0;
    if (m->budget == 0) {
      snprintf(m->err, m->errcap,
               "STP: bad reply to op %u (op 0x%02x sid %u tid %lu plen %u)",
               op, m->hdr.op, m->hdr.sid, (unsigned long)m->hdr.tid,
               m->hdr.plen);
      return -1;
    }
    m->budget--;
  }
}

static void harness_stp_progress(FILE *out, size_t len) {
  if (!out)
    return;
  fprintf(out, "Sending %zu bytes: [", len);
  for (int i = 0; i < 50; i++)
    fputc('#', out);
  fputs("] 100%\n", out);
  fflush(out);
}

static int harness_stp_run(struct harness_stp *m, struct harness_port *p,
                           const uint8_t *data, size_t len,
                           const struct harness_stp_opts *o, char *err,
                           size_t errcap);

int harness_stp_push(struct harness_port *p, const uint8_t *data, size_t len,
                     const struct harness_stp_opts *o, char *err,
                     size_t errcap) {
  int i, rc;
  struct harness_stp *m = calloc(1, sizeof *m); /* 8 KiB frame buffer */
  if (!m) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  for (i = 0; i < HARNESS_STP_COUNT; i++)
    if (strcmp(o->flavor, harness_stp_flavor_names[i]) == 0)
      break;
  if (i == HARNESS_STP_COUNT) {
    snprintf(err, errcap, "unknown STP flavor '%s'", o->flavor);
    free(m);
    return -1;
  }
  m->flavor = (enum harness_stp_flavor)i;
  rc = harness_stp_run(m, p, data, len, o, err, errcap);
  free(m);
  return rc;
}

static int harness_stp_run(struct harness_stp *m, struct harness_port *p,
                           const uint8_t *data, size_t len,
                           const struct harness_stp_opts *o, char *err,
                           size_t errcap) {
  m->port = p;
  m->err = err;
  m->errcap = errcap;
  m->budget = 4;
  double base_s = m->flavor == HARNESS_STP_WALTER_ESPIDF ? 30
                  : m->flavor == HARNESS_STP_WALTER      ? 180
                  : m->flavor == HARNESS_STP_MICROCHIP   ? 60
                                                         : 90;
  m->timeout_us = (uint64_t)(base_s * o->timeout_scale * 1e6);
  bool walter = m->flavor == HARNESS_STP_WALTER ||
                m->flavor == HARNESS_STP_WALTER_ESPIDF;
  bool check = !walter;

  /* wipe, RESET(0,0) */
  harness_port_flush(p);
  if (harness_stp_xfer(m, SQN_STP_OP_RESET, 0, 0, NULL, 0, 0, check) != 0)
    return -1;
  /* OPEN(1,1) */
  if (harness_stp_xfer(m, SQN_STP_OP_OPEN, 1, 1, NULL, 0, 4, check) != 0)
    return -1;
  if (check && m->rsp[16] == 0) {
    snprintf(err, errcap, "STP: session open refused (ok = 0)");
    return -1;
  }
  unsigned version = m->rsp[17];
  unsigned mts = (unsigned)(m->rsp[18] << 8 | m->rsp[19]);
  if (o->out) {
    fprintf(o->out, "Session opened: version %u, max transfer %u bytes\n",
            version, mts);
    fflush(o->out);
  }
  if (mts <= 16 || mts > 8192) {
    snprintf(err, errcap, "STP: unusable max transfer %u", mts);
    return -1;
  }

  size_t chunk = m->flavor == HARNESS_STP_PYCOM       ? 2048
                 : m->flavor == HARNESS_STP_PYCOM2018 ? 1536
                                                      : len;
  size_t cap = harness_stp_pycom_like(m) ? (mts - 16 < 2016 ? mts - 16 : 2016)
                                         : mts - 16;
  uint32_t tid = 2;
  size_t off = 0;
  while (off < len) {
    size_t end = off + (chunk < len - off ? chunk : len - off);
    while (off < end) {
      size_t l = end - off < cap ? end - off : cap;
      uint8_t lb[2] = {(uint8_t)(l >> 8), (uint8_t)l};
      if (harness_stp_xfer(m, SQN_STP_OP_BLOCK_CMD, 1, tid, lb, 2, 0,
                           check) != 0)
        return -1;
      if (harness_stp_xfer(m, SQN_STP_OP_BLOCK, 1, tid + 1, data + off,
                           (uint16_t)l, 2, check) != 0)
        return -1;
      size_t residue = (size_t)(m->rsp[16] << 8 | m->rsp[17]);
      tid += 2;
      if (walter || residue > l)
        residue = 0; /* Walter ignores residue */
      off += l - residue;
    }
  }
  harness_stp_progress(o->out, len);

  /* Final RESET. */
  if (walter) {
    uint64_t saved = m->timeout_us;
    if (harness_stp_xfer(m, SQN_STP_OP_RESET, 0, 0, NULL, 0, 0, false) != 0)
      return -1;
    m->timeout_us = saved;
  } else {
    size_t n = sqn_stp_encode(m->frame, sizeof m->frame, SQN_STP_MAGIC_REQ,
                              SQN_STP_OP_RESET, 1, tid, NULL, 0, 0);
    if (harness_port_write(p, m->frame, n, m->timeout_us, err, errcap) != 0)
      return -1;
    /* Read 16 bytes within ~2 s; content and timeout are ignored. */
    (void)harness_port_read(p, m->rsp, 16,
                            (uint64_t)(2.0 * o->timeout_scale * 1e6));
  }
  return 0;
}
