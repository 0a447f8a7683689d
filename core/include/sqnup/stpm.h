/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP master: pushes one image to the modem (the slave) over STP v1.
 *
 *   RESET(sid 0, tid 0) -> OPEN(sid 1, tid 1) -> grant mts
 *     -> { BLOCK_CMD(len, tid t) -> BLOCK(data, tid t+1) } until all sent
 *     -> final RESET(sid 1, current tid)
 *
 * Each response is checked: magic (the decoder hunts for "tsaf"), op =
 * request | 0x80, sid, tid, both CRCs (hcrc and pcrc only when non-zero, as
 * real modems send 0), payload length, and the residue of a BLOCK ack (the
 * unconsumed tail is sent again in the next block). A missing or bad
 * response resends the same frame (same tid) after resetting the decoder, up
 * to `retries` sends per frame; stale acks (an older tid) are ignored. On
 * failure a RESET is sent so that no half-open session is left behind.
 *
 * Giving up tells two failures apart: E_STP_PROTOCOL when responses kept
 * arriving but were wrong (bad magic, CRC, op, sid, tid, or at least a
 * header's worth of bytes without a magic), E_TRANSFER_STALLED when nothing
 * at all came back to a BLOCK_CMD or BLOCK (the slave stopped taking data).
 *
 * Sans-IO: bytes out through `write`, image bytes in through `read` straight
 * into the frame buffer (no copy of the image), time passed in.
 */
#ifndef SQNUP_STPM_H
#define SQNUP_STPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqnup/stp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SQN_STPM_STATE_MAP(XX)                                                \
  XX(IDLE) XX(RESET) XX(OPEN) XX(CMD) XX(BLOCK) XX(FINAL) XX(DONE) XX(FAILED)

enum sqn_stpm_state {
#define XX(name) SQN_STPM_ST_##name,
  SQN_STPM_STATE_MAP(XX)
#undef XX
};
const char *sqn_stpm_state_name(enum sqn_stpm_state s);

struct sqn_stpm_config {
  uint8_t *tx_buf;   /* one frame: >= 16 + block size; caller-owned */
  size_t tx_cap;
  uint8_t *rx_buf;   /* response frames: >= 64; caller-owned */
  size_t rx_cap;
  uint64_t total;    /* image size in bytes (> 0) */
  uint32_t ack_ms;   /* bound on each response (already scaled) */
  uint32_t final_ms; /* bound on the final RESET ack (already scaled) */
  uint32_t retries;  /* sends per frame, >= 1 */
  /* Send bytes (all of them) or return negative. */
  int (*write)(void *user, const uint8_t *buf, size_t len);
  /* Read image bytes at offset; return len or negative/short on error. */
  int (*read)(void *user, uint64_t offset, uint8_t *buf, size_t len);
  /* Optional: progress (bytes acknowledged) and narration. */
  void (*progress)(void *user, uint64_t done, uint64_t total);
  void (*log)(void *user, const char *text);
  void *user;
};

/* Do not modify members directly. */
struct sqn_stpm {
  /* read-only */
  enum sqn_stpm_state state;
  int result;          /* 0 or SQN_E_STP_PROTOCOL / _TRANSFER_STALLED / _IO */
  uint16_t version;    /* granted by OPEN */
  uint16_t mts;        /* max transfer granted */
  uint64_t acked;      /* image bytes the slave consumed */
  uint32_t frames_sent, resends, bad_responses, stale, residues;
  bool final_unacked;  /* the final RESET got no ack (slave may have reset) */
  /* private */
  struct sqn_stpm_config cfg;
  struct sqn_stp_decoder dec;
  uint32_t tid;
  uint8_t sid;
  uint16_t block;      /* length of the block in flight */
  uint32_t sends;      /* sends of the current frame */
  uint32_t no_progress;/* BLOCK acks with residue == len in a row */
  uint64_t deadline;
  uint64_t now;
  size_t frame_len;    /* bytes of the frame in tx_buf */
  bool got;            /* a matching response arrived during feed */
  bool bad;            /* a bad response or drop arrived during feed */
  bool garbage_flagged;/* magic-less bytes already counted for this send */
  struct sqn_stp_hdr rsp;
  uint8_t rsp_payload[4];
};

/* 0, or SQN_E_BAD_ARGUMENTS. */
int sqn_stpm_init(struct sqn_stpm *m, const struct sqn_stpm_config *cfg);
/* Flush stale input and send the first RESET. 0 or SQN_E_IO. */
int sqn_stpm_start(struct sqn_stpm *m, uint64_t now_ms);
void sqn_stpm_feed(struct sqn_stpm *m, uint64_t now_ms, const uint8_t *buf,
                   size_t len);
void sqn_stpm_tick(struct sqn_stpm *m, uint64_t now_ms);
uint64_t sqn_stpm_next_deadline(const struct sqn_stpm *m); /* UINT64_MAX */
/* Abort: send a RESET (if a session may be open) and fail with `err`. */
void sqn_stpm_abort(struct sqn_stpm *m, int err);
/* The slave is gone (it rebooted): fail with `err` without sending. */
void sqn_stpm_forget(struct sqn_stpm *m, int err);
bool sqn_stpm_done(const struct sqn_stpm *m);
/* True while the slave may have a session open (between OPEN and FINAL). */
bool sqn_stpm_session_open(const struct sqn_stpm *m);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_STPM_H */
