/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recorded sessions read back: the one place that parses trace text
 * (sim_files, sim/src/files/tracefile.c).
 *
 * A session is a list of records, each one unit of the exchange on the line
 * (an AT line or an STP frame, with its direction and time) or a note (a
 * mode change, a flash write, an updater state; no bytes on the line).
 * sqn-sim --decode --pcapng and sqn-scenario import/diff read every format
 * through this module:
 *
 *   json    sqn-sim --trace and sqn-sim --proxy --trace (one JSON object a
 *           line: {"t":us,"kind":"at<","text":...,"raw":"hex"})
 *   log     sqn-update --log ("   12.345 LOG      SMOD         at> AT+SMOD?";
 *           only the AT lines are exchange, the rest are notes; STP frames
 *           are not in such a log)
 *   socat   a `socat -x` hex dump ("> 2024/03/05 10:11:12.123456  length=4
 *           from=0 to=3", hex byte lines, "--"); '>' is data from socat's
 *           first address to its second, which must be the host side (e.g.
 *           socat -x PTY,link=/tmp/ttyV0,raw /dev/ttyUSB0,raw). The byte
 *           chunks are cut into AT lines and STP frames by sim_splitter.
 *
 * The splitter is sans-IO: bytes in, units out through a callback.
 */
#ifndef SIM_TRACEFILE_H
#define SIM_TRACEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sim_trec_dir {
  SIM_TREC_HOST = 0,  /* host -> modem */
  SIM_TREC_MODEM = 1, /* modem -> host */
  SIM_TREC_NOTE = 2   /* no direction (mode, flash, updater state, ...) */
};

enum sim_trec_proto {
  SIM_TREC_AT = 1,   /* one AT line, without its line ending */
  SIM_TREC_STP = 2,  /* one whole STP frame (header + payload) */
  SIM_TREC_RAW = 3,  /* bytes that are neither (a cut frame, junk) */
  SIM_TREC_TEXT = 4  /* a note: `kind` and the text in `data` */
};

struct sim_trec {
  uint64_t t_us;           /* from the start of the recording */
  enum sim_trec_dir dir;
  enum sim_trec_proto proto;
  char kind[16];           /* the source's tag: "at<", "stp>", "mode", ... */
  uint8_t *data;           /* owned; NUL-terminated after `len` */
  size_t len;
  /* STP frames recorded without their payload (sqn-sim's trace keeps only
   * the 16 header bytes of a BLOCK): the frame's real length, and the
   * recorder's payload CRC verdict. Otherwise orig_len == len, flags 0. */
  size_t orig_len;
  unsigned flags;          /* SIM_TREC_F_* */
  unsigned long line;      /* line in the source file (1-based) */
};

#define SIM_TREC_F_PCRC_OK 0x1u  /* payload not recorded; recorder: pcrc ok */
#define SIM_TREC_F_PCRC_BAD 0x2u /* payload not recorded; recorder: pcrc BAD */

enum sim_tracefmt {
  SIM_TRACEFMT_JSON,
  SIM_TRACEFMT_LOG,
  SIM_TRACEFMT_SOCAT
};

const char *sim_tracefmt_name(enum sim_tracefmt f); /* "json", ... */

struct sim_tracefile {
  enum sim_tracefmt fmt;
  struct sim_trec *rec;
  size_t n;
  size_t cap;
};

/* Read `path` whatever its format (detected from its first non-blank
 * line). 0, or -1 with "path:line: reason" in `err` (nothing kept). */
int sim_tracefile_load(const char *path, struct sim_tracefile *tf, char *err,
                       size_t errcap);
void sim_tracefile_free(struct sim_tracefile *tf);
/* SIM_TRACEFILE_READS: keep a socat -x dump's chunks as recorded, one RAW
 * record (kind "read") per chunk, instead of cutting them into units. */
#define SIM_TRACEFILE_READS 0x1u
int sim_tracefile_load_ex(const char *path, struct sim_tracefile *tf,
                          unsigned flags, char *err, size_t errcap);

/* Decode `n` bytes from the 2n hex digits (either case) at `hex` into
 * `out`: how many were decoded, n unless a non-digit came first. */
size_t sim_unhex(const char *hex, uint8_t *out, size_t n);

/* Append one record (copies `data`). 0, or -1 on out of memory. */
int sim_tracefile_add(struct sim_tracefile *tf, uint64_t t_us,
                      enum sim_trec_dir dir, enum sim_trec_proto proto,
                      const char *kind, const void *data, size_t len,
                      unsigned long line);

/* ---- the stream splitter: a byte stream into AT lines and STP frames ---- */

#define SIM_SPLIT_LINE_MAX 4096u
#define SIM_SPLIT_CAP (16u + 65535u)

enum sim_split_state { SIM_SPLIT_IDLE, SIM_SPLIT_LINE, SIM_SPLIT_FRAME };

struct sim_splitter {
  enum sim_trec_dir dir;   /* HOST: frames start "fast"; MODEM: "tsaf" */
  enum sim_split_state state;
  /* A unit is out: proto AT (line without terminator, never empty), STP
   * (whole frame) or RAW (an over-long line, a frame cut by flush). */
  void (*unit)(void *user, enum sim_trec_proto proto, const uint8_t *p,
               size_t n);
  void *user;
  size_t len;
  uint8_t buf[SIM_SPLIT_CAP];
};

void sim_splitter_init(struct sim_splitter *s, enum sim_trec_dir dir,
                       void (*unit)(void *, enum sim_trec_proto,
                                    const uint8_t *, size_t),
                       void *user);
void sim_splitter_feed(struct sim_splitter *s, const uint8_t *p, size_t n);
/* End of stream (or a long silence): emit what is pending. */
void sim_splitter_flush(struct sim_splitter *s);
/* True when a frame or a line is half received. */
bool sim_splitter_busy(const struct sim_splitter *s);

#ifdef __cplusplus
}
#endif
#endif /* SIM_TRACEFILE_H */
