/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CABA containers (.dup packages): a streaming walker that validates records
 * as their bytes arrive, in any chunking, with memory independent of the
 * package size. The whole-file walk is the same code fed once.
 *
 * Record headers (all little-endian):
 *   v1  magic[4] ver=1 flags u32 size  u32 data_sum u32 hdr_sum      (20 B)
 *   v2  magic[4] ver=2 flags u32 size  u16 sig_type u16 sig_size     (16 B)
 *   v3  magic[4] ver=3 flags u32 size  u16 sig_type u16 sig_size
 *                                      u16 descr_size                (18 B)
 *   v1: header, data.  v2: header, data, sig over header+data.
 *   v3: header, descr (NUL-terminated, descr_size bytes), data,
 *       sig over header+descr+data.
 *   sig types: 0 none (0 B), 1 Fletcher-32 (4 B LE), 4 zlib CRC-32 (4 B LE).
 *
 * A `PACK` record's data is itself a sequence of records (nesting). An `UPGR`
 * record's data starts with a u32 LE target id: "boot" (0x626F6F74) bootrom,
 * 8 updater, 2 fff, 3 fs. Targets 2 and 8 carry a slim FFF! image:
 *   magic "FFF!", u32 0, u32 features (bit 0 SLIM), 4 x u32 0, u32 payload
 *   length, u16 0, u16 0, u16 1, u16 4  (40 B), payload, u32 LE Fletcher-32
 *   of header + payload.
 *
 * The image version of a record is the first "A.B.C.D [BUILD]" text inside
 * its data (modem-model.md section 6).
 */
#ifndef SQNUP_CABA_H
#define SQNUP_CABA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqnup/crc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SQN_CABA_MAX_DEPTH 3      /* PACK > UPGR is 2; one spare level */
#define SQN_CABA_DESCR_MAX 64     /* longer descriptions are cut in reports */
#define SQN_CABA_TARGET_BOOT 0x626F6F74u
#define SQN_CABA_TARGET_FFF 2u
#define SQN_CABA_TARGET_FS 3u
#define SQN_CABA_TARGET_UPDATER 8u
#define SQN_FFF_HDR_LEN 40u

#define SQN_CABA_ERR_MAP(XX)                                                  \
  XX(BAD_MAGIC, -1, "record magic is not 4 printable ASCII characters")       \
  XX(BAD_VERSION, -2, "unknown CABA header version")                          \
  XX(BAD_SIZE, -3, "record does not fit inside its container")                \
  XX(BAD_DESCR, -4, "description is not NUL-terminated")                      \
  XX(BAD_SIG_TYPE, -5, "unsupported signature type")                          \
  XX(BAD_SIG_SIZE, -6, "signature size does not match its type")              \
  XX(BAD_SIG, -7, "signature mismatch")                                       \
  XX(BAD_HDR_SUM, -8, "v1 header checksum mismatch")                          \
  XX(BAD_DATA_SUM, -9, "v1 data checksum mismatch")                           \
  XX(BAD_TARGET, -10, "unknown UPGR target id")                               \
  XX(BAD_FFF_MAGIC, -11, "image does not start with FFF!")                    \
  XX(BAD_FFF_HEADER, -12, "FFF! header fields are not the slim layout")       \
  XX(BAD_FFF_LEN, -13, "FFF! length field does not match the record")         \
  XX(BAD_FFF_SUM, -14, "FFF! trailer checksum mismatch")                      \
  XX(TRUNCATED, -15, "stream ends inside a record")                           \
  XX(TOO_DEEP, -16, "records nested too deep")                                \
  XX(EMPTY, -17, "no record at all")                                          \
  XX(ABORTED, -18, "stopped by the caller")

enum sqn_caba_err {
  SQN_CABA_OK = 0,
#define XX(name, val, text) SQN_CABA_E_##name = (val),
  SQN_CABA_ERR_MAP(XX)
#undef XX
};

const char *sqn_caba_strerror(int err); /* text for 0 and every SQN_CABA_E_* */
const char *sqn_caba_err_name(int err); /* "BAD_SIG" */

/* "A.B.C.D [BUILD]" as found in a record. */
struct sqn_image_version {
  bool found;
  uint16_t v[4];        /* A B C D */
  uint32_t build;
};

/* Parse "5.1.1.0 [38638]" / "5.1.1.0-38638" / "LR5.1.1.0-38638"; 0 or -1. */
int sqn_version_parse(struct sqn_image_version *out, const char *text);
/* Compare A.B.C.D then build: <0, 0, >0. */
int sqn_version_cmp(const struct sqn_image_version *a,
                    const struct sqn_image_version *b);
/* Format as "5.1.1.0-38638" (ATI1 style without "LR"); returns `buf`. */
char *sqn_version_format(const struct sqn_image_version *v, char *buf,
                         size_t cap);

struct sqn_caba_record {
  uint64_t offset;         /* stream offset of the record header */
  uint64_t length;         /* whole record: header + descr + data + sig */
  uint8_t depth;           /* 0 top level, 1 inside a PACK, ... */
  char magic[5];           /* NUL-terminated */
  uint16_t version;
  uint16_t flags;
  uint32_t data_size;
  uint16_t sig_type;
  uint16_t sig_size;
  uint16_t descr_size;
  char descr[SQN_CABA_DESCR_MAX]; /* NUL-terminated, possibly cut */
  bool has_target;         /* UPGR: target id read */
  uint32_t target;
  bool has_fff;            /* target 2 or 8: FFF! header read */
  uint32_t fff_payload_len;
  struct sqn_image_version image; /* first version text in the data */
  bool sig_ok;             /* valid at SQN_CABA_EV_END */
};

enum sqn_caba_event {
  SQN_CABA_EV_BEGIN, /* header (and v3 description) parsed */
  SQN_CABA_EV_DATA,  /* data bytes of a leaf (non-PACK) record */
  SQN_CABA_EV_END    /* record complete, signature and checks passed */
};

/*
 * Event callback. `data`/`len` are set for SQN_CABA_EV_DATA only and are
 * valid during the call. Return 0 to go on, non-zero to stop the walk with
 * SQN_CABA_E_ABORTED.
 */
typedef int (*sqn_caba_cb)(void *user, enum sqn_caba_event ev,
                           const struct sqn_caba_record *rec,
                           const uint8_t *data, size_t len);

/* One open record. Private. */
struct sqn_caba_level {
  struct sqn_caba_record rec;
  uint64_t pos;          /* bytes of this record consumed so far */
  struct sqn_fletcher fl; /* type-1 signature / v1 data sum */
  uint32_t crc32;        /* type-4 signature */
  uint8_t tail[4];       /* signature / trailer bytes */
  struct sqn_fletcher fff; /* FFF! trailer sum over header + payload */
  uint8_t fff_hdr[SQN_FFF_HDR_LEN];
  uint8_t scan[40];      /* version text scanner: last data bytes seen */
  uint8_t scan_len;
  /* added by the walker implementation */
  uint8_t phase;         /* header / description / data / signature */
  uint8_t part;          /* UPGR data: target / FFF! header / payload / ... */
  uint8_t sum_fl;        /* this record sums with Fletcher-32 */
  uint8_t sum_crc;       /* this record sums with CRC-32 */
  uint8_t is_pack;
  uint8_t last;          /* last description byte (NUL check) */
  uint8_t prev_unsigned; /* PACK: previous child had no checksum */
  uint8_t tgt[4];        /* UPGR target id bytes */
  uint32_t hdr_len;      /* 16, 18 or 20 */
  uint32_t v1_data_sum;  /* v1: expected data checksum */
  uint32_t tail_have;    /* signature bytes collected */
  uint64_t part_pos;     /* bytes consumed in the current UPGR part */
  uint64_t descr_end;    /* stream offsets of the section ends */
  uint64_t data_end;
  uint64_t end;
};

/*
 * The walker. Caller-allocated (about 1.1 KiB, independent of the package
 * size); do not modify members directly. No allocation, no globals; one
 * walker per stream, several may coexist.
 *
 * Error location (valid when err != 0):
 *   err_offset  the byte (or the start of the field) where the defect was
 *               seen: the bad magic byte, the version / sig type / size
 *               field, the signature or trailer start, the stream end for
 *               TRUNCATED.
 *   err_record  header offset of the innermost record that contains the
 *               defect. When a size field is what is wrong the enclosing
 *               record is named: a child "header" with no valid magic or
 *               version, one cut by the end of the stream, or one following
 *               an unsigned sibling, is blamed on its PACK; a child that does
 *               not fit its PACK is BAD_SIZE on the child if the child's own
 *               checks fail, else on the PACK (the walker reads the child to
 *               its end to decide; no events are emitted meanwhile).
 *   err_magic   that record's magic, "" if its magic was never read.
 * DATA events never include the byte at which a defect in that data was
 * found, so the event sequence is the same in every chunking.
 */
struct sqn_caba_walker {
  /* read-only */
  uint64_t offset;         /* stream bytes consumed */
  int err;                 /* first error, sticky; 0 while fine */
  uint64_t err_offset;     /* stream offset where the defect was detected */
  uint64_t err_record;     /* header offset of the innermost record then open */
  char err_magic[5];       /* its magic ("" if the header itself was bad) */
  uint32_t records;        /* records completed */
  /* private */
  sqn_caba_cb cb;
  void *user;
  int depth;               /* open levels */
  struct sqn_caba_level lv[SQN_CABA_MAX_DEPTH];
  uint8_t hdr[20 + SQN_CABA_DESCR_MAX];
  size_t hdr_have;
  size_t hdr_need;
  int pend;                /* level that overflows its parent, or -1 */
  uint64_t pend_offset;    /* where that overflow was seen */
};

void sqn_caba_walker_init(struct sqn_caba_walker *w, sqn_caba_cb cb, void *user);
/* Feed the next bytes (`len` may be 0; `buf` is only read during the call).
 * Events fire from inside this call. Returns 0 or the (sticky) negative
 * SQN_CABA_E_*; after an error further input is ignored. */
int sqn_caba_walker_feed(struct sqn_caba_walker *w, const uint8_t *buf,
                         size_t len);
/* End of stream: returns 0 when the stream ended on a top-level record
 * boundary after at least one record, else the error. */
int sqn_caba_walker_finish(struct sqn_caba_walker *w);

/* Whole-buffer walk: init + feed + finish. `w` is scratch (may be NULL, then
 * one is put on the stack). Returns 0 or a negative SQN_CABA_E_*. */
int sqn_caba_walk(const uint8_t *buf, size_t len, sqn_caba_cb cb, void *user,
                  struct sqn_caba_walker *w);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_CABA_H */
