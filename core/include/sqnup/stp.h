/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STP, the Sequans transfer protocol: frame encoder and byte-fed decoder.
 * Shared by the updater (master) and the emulator (slave). Sans-IO: no
 * allocation, no clock, no globals.
 *
 *   0       4    5    6      8          12     14     16
 *   +-------+----+----+------+----------+------+------+-----------+
 *   | magic | op | sid| plen |   tid    | hcrc | pcrc | payload.. |
 *   +-------+----+----+------+----------+------+------+-----------+
 *   all big-endian; magic "fast" (66 61 73 74) for requests, "tsaf" for
 *   responses; hcrc = CRC-16/XMODEM of the 16 header bytes with hcrc = 0
 *   (pcrc filled in); pcrc = CRC-16 of the payload, 0 when plen = 0.
 *
 * Decoder receive states (one switch, every failure through one drop path):
 *
 *   HUNT --magic--> HEADER --16 bytes, hcrc ok, plen ok--> PAYLOAD --plen--> frame
 *     ^                |  bad hcrc / plen > limit             |  bad pcrc
 *     +----------------+--------- drop, rescan buffered ------+
 *                                 bytes after the magic
 */
#ifndef SQNUP_STP_H
#define SQNUP_STP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SQN_STP_MAGIC_REQ 0x66617374u /* "fast" */
#define SQN_STP_MAGIC_RSP 0x74736166u /* "tsaf" */
#define SQN_STP_HDR_LEN 16u
#define SQN_STP_ACK 0x80u  /* response op = request op | ACK */
#define SQN_STP_NACK 0x40u /* v2 only */

enum sqn_stp_op {
  SQN_STP_OP_RESET = 0,
  SQN_STP_OP_OPEN = 1,
  SQN_STP_OP_BLOCK_CMD = 2,
  SQN_STP_OP_BLOCK = 3,
  SQN_STP_OP_DATA_TYPE = 4, /* v2 only */
  SQN_STP_OP_UNKNOWN = 63   /* v2 only */
};

struct sqn_stp_hdr {
  uint32_t magic;
  uint8_t op;
  uint8_t sid;
  uint16_t plen;
  uint32_t tid;
  uint16_t hcrc;
  uint16_t pcrc;
};

/* Encoder flags. */
#define SQN_STP_ENC_ZERO_HCRC 0x1u /* write hcrc = 0, as real modems do */
#define SQN_STP_ENC_ZERO_PCRC 0x2u /* write pcrc = 0 ("not computed"); for
                                      fault injection and re-encoding */

/*
 * Encode one frame into `out`. `payload` may be NULL when plen is 0; it is
 * copied and may even point at out + 16 (in-place encoding: build the payload
 * there, then write the header around it). pcrc is CRC-16 of the payload (0
 * for an empty one) unless SQN_STP_ENC_ZERO_PCRC; hcrc is computed over the
 * finished header unless SQN_STP_ENC_ZERO_HCRC. Returns the frame length
 * (16 + plen), or 0 when `out` is NULL, `cap` is too small, or plen > 0 with
 * a NULL payload. Pure and reentrant.
 */
size_t sqn_stp_encode(uint8_t *out, size_t cap, uint32_t magic, uint8_t op,
                      uint8_t sid, uint32_t tid, const uint8_t *payload,
                      uint16_t plen, unsigned flags);

/* Parse the 16 header bytes at `p` (no checks). */
void sqn_stp_hdr_parse(struct sqn_stp_hdr *h, const uint8_t *p);
/* CRC-16 the header at `p` should carry in its hcrc field. */
uint16_t sqn_stp_hdr_crc(const uint8_t *p);

/* Why the decoder dropped bytes. */
#define SQN_STP_DROP_MAP(XX)                                         \
  XX(GARBAGE, "bytes before a magic")                                \
  XX(BAD_HCRC, "bad header CRC")                                     \
  XX(BAD_PCRC, "bad payload CRC")                                    \
  XX(TOO_LONG, "payload length over the limit")                      \
  XX(TRUNCATED, "frame truncated")

enum sqn_stp_drop {
#define XX(name, text) SQN_STP_DROP_##name,
  SQN_STP_DROP_MAP(XX)
#undef XX
  SQN_STP_DROP_COUNT
};

const char *sqn_stp_drop_name(enum sqn_stp_drop reason);  /* "BAD_HCRC" */
const char *sqn_stp_drop_text(enum sqn_stp_drop reason);  /* "bad header CRC" */

struct sqn_stp_frame {
  struct sqn_stp_hdr hdr;
  const uint8_t *payload; /* valid only during the callback */
  const uint8_t *raw;     /* header + payload bytes, valid during the callback */
  size_t raw_len;
  bool hcrc_checked;      /* false when hcrc was 0 and the decoder accepts that */
  bool pcrc_checked;      /* false when plen > 0, pcrc was 0 and the decoder
                             accepts that (SQN_STP_DEC_HCRC_ZERO_OK) */
};

/* Called for each complete, valid frame. */
typedef void (*sqn_stp_frame_cb)(void *user, const struct sqn_stp_frame *f);
/* Called for each drop; `bytes` is how many stream bytes were given up. */
typedef void (*sqn_stp_drop_cb)(void *user, enum sqn_stp_drop reason,
                                size_t bytes);

/*
 * Decoder flags.
 *
 * SQN_STP_DEC_HCRC_ZERO_OK: a CRC field of 0 means "not computed", the way
 * the Pycom master reads responses: hcrc is only checked when non-zero (real
 * modems send hcrc = 0), and pcrc is only checked when non-zero. Without the
 * flag both CRCs are always checked: hcrc must equal sqn_stp_hdr_crc() and
 * pcrc must equal CRC-16 of the payload (so an empty payload needs pcrc 0).
 * An empty payload with pcrc != 0 is BAD_PCRC under both settings, since
 * no master ever sends one and CRC-16 of nothing is 0.
 */
#define SQN_STP_DEC_HCRC_ZERO_OK 0x1u

/*
 * Decoder configuration, copied by sqn_stp_decoder_init(). The callbacks run
 * synchronously from inside feed/flush and must not call feed, flush or
 * reset on the same decoder. Between them, every byte fed is accounted for
 * exactly once: after a flush, the sum of delivered raw_len and dropped
 * `bytes` equals the number of bytes fed.
 */
struct sqn_stp_decoder_config {
  uint32_t magic;     /* SQN_STP_MAGIC_REQ (slave side) or _RSP (master side) */
  uint8_t *buf;       /* frame buffer, caller-owned, lifetime >= decoder */
  size_t buf_cap;     /* >= 16 + max_plen */
  uint16_t max_plen;  /* longer frames are dropped as TOO_LONG */
  unsigned flags;
  sqn_stp_frame_cb on_frame;
  sqn_stp_drop_cb on_drop; /* may be NULL */
  void *user;
};

/* Receive states; do not modify members of the decoder directly. */
#define SQN_STP_RX_MAP(XX) XX(HUNT) XX(HEADER) XX(PAYLOAD)
enum sqn_stp_rx_state {
#define XX(name) SQN_STP_RX_##name,
  SQN_STP_RX_MAP(XX)
#undef XX
};

const char *sqn_stp_rx_state_name(enum sqn_stp_rx_state s); /* "HUNT" */

struct sqn_stp_decoder {
  /* read-only */
  struct sqn_stp_decoder_config cfg;
  enum sqn_stp_rx_state state;
  uint32_t frames;                    /* frames delivered */
  uint32_t drops[SQN_STP_DROP_COUNT]; /* drop events per reason */
  /* private */
  size_t have;       /* bytes buffered for the current frame */
  size_t need;       /* bytes the current frame needs in total */
  size_t garbage;    /* garbage bytes not yet reported */
  uint32_t shift;    /* last 4 bytes seen while hunting */
};

/*
 * Drop accounting. GARBAGE is reported when the magic that ends it is found
 * (or at flush), with the number of bytes skipped. A false frame (BAD_HCRC,
 * BAD_PCRC, TOO_LONG, TRUNCATED) is reported at once; its `bytes` run from
 * its magic up to the next place inside its buffered bytes where a magic (or,
 * at the end, the start of one) could begin. Those later bytes are rescanned,
 * so a real frame that began inside a false one is still delivered; the
 * rescan is a loop over the frame buffer, never recursion or allocation.
 * During an on_drop call for a false frame, sqn_stp_decoder_dropped() shows
 * its buffered bytes (e.g. to log them or NACK with its sid/tid).
 */
const uint8_t *sqn_stp_decoder_dropped(const struct sqn_stp_decoder *d,
                                       size_t *len);

/* Returns 0, or -1 when the config is unusable (NULL, buf too small, magic
 * 0). Counters start at 0 and the state at HUNT. */
int sqn_stp_decoder_init(struct sqn_stp_decoder *d,
                         const struct sqn_stp_decoder_config *cfg);
/* Feed received bytes. Callbacks run from inside this call. Never fails. */
void sqn_stp_decoder_feed(struct sqn_stp_decoder *d, const uint8_t *buf,
                          size_t len);
/* End of stream or read timeout: a frame in progress is dropped as
 * TRUNCATED (its bytes after the magic are rescanned first); pending garbage
 * is reported. */
void sqn_stp_decoder_flush(struct sqn_stp_decoder *d);
/* Forget any partial frame without reporting it (e.g. the host flushed). */
void sqn_stp_decoder_reset(struct sqn_stp_decoder *d);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_STP_H */
