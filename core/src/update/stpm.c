/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP master (see sqnup/stpm.h for the contract).
 *
 *   IDLE -start-> RESET --ack--> OPEN --ack(ok, mts)--> CMD --ack--> BLOCK
 *                                                        ^            |
 *                                                        +--ack(res)--+
 *                                          all consumed: FINAL --ack/timeout--> DONE
 *   any state: no/bad response -> resend same frame (same tid), at most
 *   `retries` sends -> FAILED (+ RESET if a session may be open)
 *
 * Frames are built in the caller's tx buffer; a BLOCK's data is read from
 * the image straight into the payload slot (tx_buf + 16) and the header is
 * encoded around it, so the image is never copied twice.
 *
 * Why a bad response does not trigger an immediate resend: a drop may be a
 * stale partial frame left in the UART buffer, and the real ack may follow
 * in the next read. A resent BLOCK could be written twice by a slave that
 * does not dedupe by tid, so we only shorten the wait (ack_ms / 60) and
 * resend when nothing valid arrives by then.
 */
#include "sqnup/stpm.h"

#include <stdarg.h>
#include <string.h>

#include "sqnup/err.h"
#include "../sqn_libc.h"

const char *sqn_stpm_state_name(enum sqn_stpm_state s) {
  switch (s) {
#define XX(name)                                                               \
  case SQN_STPM_ST_##name:                                                     \
    return #name;
    SQN_STPM_STATE_MAP(XX)
#undef XX
  }
  return "?";
}

static void sqn_stpm_log(struct sqn_stpm *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sqn_stpm_log(struct sqn_stpm *m, const char *fmt, ...) {
  char buf[160];
  va_list ap;
  if (!m->cfg.log)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  m->cfg.log(m->cfg.user, buf);
}

static void sqn_stpm_on_frame(void *user, const struct sqn_stp_frame *f);
static void sqn_stpm_on_drop(void *user, enum sqn_stp_drop reason,
                             size_t bytes);

int sqn_stpm_init(struct sqn_stpm *m, const struct sqn_stpm_config *cfg) {
  struct sqn_stp_decoder_config dc;
  if (!m || !cfg || !cfg->tx_buf || cfg->tx_cap < SQN_STP_HDR_LEN + 16 ||
      !cfg->rx_buf || cfg->rx_cap < 64 || !cfg->write || !cfg->read ||
      cfg->total == 0 || cfg->retries == 0)
    return SQN_E_BAD_ARGUMENTS;
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->state = SQN_STPM_ST_IDLE;
  m->deadline = UINT64_MAX;
  memset(&dc, 0, sizeof dc);
  dc.magic = SQN_STP_MAGIC_RSP;
  dc.buf = cfg->rx_buf;
  dc.buf_cap = cfg->rx_cap;
  /* Responses carry at most 4 payload bytes; anything longer is noise. */
  dc.max_plen = 16;
  dc.flags = SQN_STP_DEC_HCRC_ZERO_OK;
  dc.on_frame = sqn_stpm_on_frame;
  dc.on_drop = sqn_stpm_on_drop;
  dc.user = m;
  if (sqn_stp_decoder_init(&m->dec, &dc) != 0)
    return SQN_E_BAD_ARGUMENTS;
  return 0;
}

static void sqn_stpm_fail(struct sqn_stpm *m, int err);

/* Send the frame in tx_buf (again) and arm the ack timer. */
static void sqn_stpm_send(struct sqn_stpm *m, uint32_t timeout_ms) {
  int rc = m->cfg.write(m->cfg.user, m->cfg.tx_buf, m->frame_len);
  if (rc < 0 || (size_t)rc != m->frame_len) {
    sqn_stpm_fail(m, SQN_E_IO);
    return;
  }
  m->sends++;
  m->frames_sent++;
  m->garbage_flagged = false;
  m->deadline = m->now + timeout_ms;
}

static void sqn_stpm_frame(struct sqn_stpm *m, uint8_t op, uint8_t sid,
                           const uint8_t *payload, uint16_t plen) {
  m->frame_len = sqn_stp_encode(m->cfg.tx_buf, m->cfg.tx_cap,
                                SQN_STP_MAGIC_REQ, op, sid, m->tid, payload,
                                plen, 0);
  m->sends = 0;
  m->bad = false;
}

static void sqn_stpm_set(struct sqn_stpm *m, enum sqn_stpm_state s) {
  m->state = s;
}

static void sqn_stpm_fail(struct sqn_stpm *m, int err) {
  bool open = sqn_stpm_session_open(m);
  if (m->state == SQN_STPM_ST_FAILED || m->state == SQN_STPM_ST_DONE)
    return;
  sqn_stpm_set(m, SQN_STPM_ST_FAILED);
  m->result = err;
  m->deadline = UINT64_MAX;
  if (open && err != SQN_E_IO) {
    /* Never leave a half-open session: a RESET ends it on the slave. */
    m->tid++;
    sqn_stpm_frame(m, SQN_STP_OP_RESET, m->sid, NULL, 0);
    (void)m->cfg.write(m->cfg.user, m->cfg.tx_buf, m->frame_len);
    sqn_stpm_log(m, "stp: sent RESET to close the session after %s",
                 sqn_err_name(err));
  }
}

int sqn_stpm_start(struct sqn_stpm *m, uint64_t now_ms) {
  if (m->state != SQN_STPM_ST_IDLE)
    return SQN_E_STATE;
  m->now = now_ms;
  /* Whatever arrived before (an OK's trailing LF, stale frames) is noise. */
  sqn_stp_decoder_reset(&m->dec);
  m->sid = 0;
  m->tid = 0;
  sqn_stpm_frame(m, SQN_STP_OP_RESET, 0, NULL, 0);
  sqn_stpm_set(m, SQN_STPM_ST_RESET);
  sqn_stpm_send(m, m->cfg.ack_ms);
  return m->state == SQN_STPM_ST_FAILED ? m->result : 0;
}

static void sqn_stpm_next_block(struct sqn_stpm *m) {
  uint64_t left = m->cfg.total - m->acked;
  uint64_t cap = (uint64_t)m->mts - 16u;
  uint8_t pl[2];
  if (cap > m->cfg.tx_cap - SQN_STP_HDR_LEN)
    cap = m->cfg.tx_cap - SQN_STP_HDR_LEN;
  if (cap > 0xffffu)
    cap = 0xffffu;
  m->block = (uint16_t)(left < cap ? left : cap);
  m->tid++;
  pl[0] = (uint8_t)(m->block >> 8);
  pl[1] = (uint8_t)m->block;
  sqn_stpm_frame(m, SQN_STP_OP_BLOCK_CMD, m->sid, pl, 2);
  sqn_stpm_set(m, SQN_STPM_ST_CMD);
  sqn_stpm_send(m, m->cfg.ack_ms);
}

static void sqn_stpm_send_block(struct sqn_stpm *m) {
  uint8_t *slot = m->cfg.tx_buf + SQN_STP_HDR_LEN;
  int rc = m->cfg.read(m->cfg.user, m->acked, slot, m->block);
  if (rc < 0 || (size_t)rc != m->block) {
    sqn_stpm_fail(m, SQN_E_IO);
    return;
  }
  m->tid++;
  sqn_stpm_frame(m, SQN_STP_OP_BLOCK, m->sid, slot, m->block);
  sqn_stpm_set(m, SQN_STPM_ST_BLOCK);
  sqn_stpm_send(m, m->cfg.ack_ms);
}

static void sqn_stpm_final(struct sqn_stpm *m) {
  m->tid++;
  sqn_stpm_frame(m, SQN_STP_OP_RESET, m->sid, NULL, 0);
  sqn_stpm_set(m, SQN_STPM_ST_FINAL);
  sqn_stpm_send(m, m->cfg.final_ms);
}

static uint8_t sqn_stpm_expected_op(const struct sqn_stpm *m) {
  switch (m->state) {
  case SQN_STPM_ST_RESET:
  case SQN_STPM_ST_FINAL:
    return SQN_STP_OP_RESET;
  case SQN_STPM_ST_OPEN:
    return SQN_STP_OP_OPEN;
  case SQN_STPM_ST_CMD:
    return SQN_STP_OP_BLOCK_CMD;
  case SQN_STPM_ST_BLOCK:
    return SQN_STP_OP_BLOCK;
  default:
    return 0xff;
  }
}

static void sqn_stpm_bad(struct sqn_stpm *m, const char *why) {
  m->bad_responses++;
  m->bad = true;
  sqn_stpm_log(m, "stp: bad response in %s (tid %u): %s",
               sqn_stpm_state_name(m->state), (unsigned)m->tid, why);
  /* Resend soon unless a valid ack follows (see the overview). */
  uint64_t soon = m->now + m->cfg.ack_ms / 60u + 1u;
  if (soon < m->deadline)
    m->deadline = soon;
}

static void sqn_stpm_on_drop(void *user, enum sqn_stp_drop reason,
                             size_t bytes) {
  struct sqn_stpm *m = user;
  if (reason == SQN_STP_DROP_GARBAGE)
    return; /* bytes before a magic: AT leftovers, noise */
  if (m->state < SQN_STPM_ST_RESET || m->state > SQN_STPM_ST_FINAL)
    return;
  (void)bytes;
  sqn_stpm_bad(m, sqn_stp_drop_text(reason));
}

static void sqn_stpm_on_frame(void *user, const struct sqn_stp_frame *f) {
  struct sqn_stpm *m = user;
  const struct sqn_stp_hdr *h = &f->hdr;
  uint8_t want = sqn_stpm_expected_op(m);

  if (want == 0xff)
    return; /* not waiting: late duplicate */
  if (m->state != SQN_STPM_ST_RESET && h->tid < m->tid) {
    m->stale++; /* ack of an earlier send we already moved past */
    return;
  }
  if (h->op != (uint8_t)(want | SQN_STP_ACK)) {
    sqn_stpm_bad(m, "wrong op");
    return;
  }
  /* The first RESET is answered by a slave that may still hold an older
   * session's ids: check the op only, as every known master does. */
  if (m->state != SQN_STPM_ST_RESET && (h->sid != m->sid || h->tid != m->tid)) {
    sqn_stpm_bad(m, "wrong sid/tid");
    return;
  }
  switch (m->state) {
  case SQN_STPM_ST_RESET:
    m->sid = 1;
    m->tid = 1;
    sqn_stpm_frame(m, SQN_STP_OP_OPEN, 1, NULL, 0);
    sqn_stpm_set(m, SQN_STPM_ST_OPEN);
    sqn_stpm_send(m, m->cfg.ack_ms);
    break;
  case SQN_STPM_ST_OPEN: {
    const uint8_t *p = f->payload;
    if (h->plen != 4 || p[0] == 0) {
      sqn_stpm_bad(m, h->plen != 4 ? "open: bad length" : "open: refused");
      return;
    }
    m->version = p[1];
    m->mts = (uint16_t)((p[2] << 8) | p[3]);
    if (m->mts <= 16) {
      sqn_stpm_log(m, "stp: max transfer %u is unusable", (unsigned)m->mts);
      sqn_stpm_fail(m, SQN_E_STP_PROTOCOL);
      return;
    }
    sqn_stpm_log(m, "stp: session opened: version %u, max transfer %u bytes",
                 (unsigned)m->version, (unsigned)m->mts);
    sqn_stpm_next_block(m);
    break;
  }
  case SQN_STPM_ST_CMD:
    if (h->plen != 0) {
      sqn_stpm_bad(m, "cmd ack with payload");
      return;
    }
    sqn_stpm_send_block(m);
    break;
  case SQN_STPM_ST_BLOCK: {
    uint16_t res;
    if (h->plen != 2) {
      sqn_stpm_bad(m, "block ack: bad length");
      return;
    }
    res = (uint16_t)((f->payload[0] << 8) | f->payload[1]);
    if (res > m->block) {
      sqn_stpm_bad(m, "residue larger than the block");
      return;
    }
    if (res) {
      m->residues++;
      sqn_stpm_log(m, "stp: residue %u of %u at offset %llu; resending tail",
                   (unsigned)res, (unsigned)m->block,
                   (unsigned long long)(m->acked + m->block - res));
    }
    m->acked += (uint64_t)(m->block - res);
    if (res == m->block) {
      if (++m->no_progress >= m->cfg.retries) {
        sqn_stpm_fail(m, SQN_E_TRANSFER_STALLED);
        return;
      }
    } else {
      m->no_progress = 0;
    }
    if (m->cfg.progress)
      m->cfg.progress(m->cfg.user, m->acked, m->cfg.total);
    if (m->acked >= m->cfg.total)
      sqn_stpm_final(m);
    else
      sqn_stpm_next_block(m);
    break;
  }
  case SQN_STPM_ST_FINAL:
    sqn_stpm_set(m, SQN_STPM_ST_DONE);
    m->deadline = UINT64_MAX;
    break;
  default:
    break;
  }
}

void sqn_stpm_feed(struct sqn_stpm *m, uint64_t now_ms, const uint8_t *buf,
                   size_t len) {
  m->now = now_ms;
  if (m->state == SQN_STPM_ST_IDLE || m->state == SQN_STPM_ST_DONE ||
      m->state == SQN_STPM_ST_FAILED)
    return;
  sqn_stp_decoder_feed(&m->dec, buf, len);
  /* A response with a corrupt magic never leaves HUNT, so the decoder
   * reports nothing until some later magic ends the run of garbage. A
   * response's worth of such bytes is an answer that is wrong, not silence:
   * count it as a bad response (once per send) so that the resend comes
   * soon and giving up says E_STP_PROTOCOL rather than E_TRANSFER_STALLED. */
  if (!m->garbage_flagged && m->state >= SQN_STPM_ST_RESET &&
      m->state < SQN_STPM_ST_FINAL && m->dec.state == SQN_STP_RX_HUNT &&
      m->dec.garbage >= SQN_STP_HDR_LEN) {
    m->garbage_flagged = true;
    sqn_stpm_bad(m, "no response magic");
  }
}

void sqn_stpm_tick(struct sqn_stpm *m, uint64_t now_ms) {
  m->now = now_ms;
  if (m->state < SQN_STPM_ST_RESET || m->state > SQN_STPM_ST_FINAL ||
      now_ms < m->deadline)
    return;
  if (m->state == SQN_STPM_ST_FINAL) {
    /* The slave leaves STP when it acts on the RESET; a lost ack is not a
     * failure, and resending binary to an AT parser would be. */
    sqn_stpm_log(m, "stp: no ack to the final RESET; continuing");
    m->final_unacked = true;
    sqn_stpm_set(m, SQN_STPM_ST_DONE);
    m->deadline = UINT64_MAX;
    return;
  }
  if (m->sends >= m->cfg.retries) {
    int err = SQN_E_STP_PROTOCOL;
    /* Silence on data frames means the slave stopped taking data (read-only
     * FS, stuck flash); bad answers mean a broken link. */
    if (!m->bad &&
        (m->state == SQN_STPM_ST_CMD || m->state == SQN_STPM_ST_BLOCK))
      err = SQN_E_TRANSFER_STALLED;
    sqn_stpm_log(m, "stp: giving up in %s after %u sends (tid %u)",
                 sqn_stpm_state_name(m->state), (unsigned)m->sends,
                 (unsigned)m->tid);
    sqn_stpm_fail(m, err);
    return;
  }
  sqn_stp_decoder_reset(&m->dec);
  m->resends++;
  sqn_stpm_log(m, "stp: %s in %s; resending tid %u",
               m->bad ? "bad response" : "timeout",
               sqn_stpm_state_name(m->state), (unsigned)m->tid);
  sqn_stpm_send(m, m->cfg.ack_ms);
}

uint64_t sqn_stpm_next_deadline(const struct sqn_stpm *m) {
  return m->deadline;
}

void sqn_stpm_abort(struct sqn_stpm *m, int err) { sqn_stpm_fail(m, err); }

void sqn_stpm_forget(struct sqn_stpm *m, int err) {
  if (m->state == SQN_STPM_ST_FAILED || m->state == SQN_STPM_ST_DONE)
    return;
  m->state = SQN_STPM_ST_FAILED;
  m->result = err;
  m->deadline = UINT64_MAX;
}

bool sqn_stpm_done(const struct sqn_stpm *m) {
  return m->state == SQN_STPM_ST_DONE || m->state == SQN_STPM_ST_FAILED;
}

bool sqn_stpm_session_open(const struct sqn_stpm *m) {
  return m->state == SQN_STPM_ST_OPEN || m->state == SQN_STPM_ST_CMD ||
         m->state == SQN_STPM_ST_BLOCK;
}
