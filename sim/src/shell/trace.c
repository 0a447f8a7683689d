/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trace file: one JSON object per line, one line per model trace event.
 *
 *   {"t":1234567,"kind":"stp<","text":"BLOCK sid 1 tid 3 plen 2016","raw":"66617374..."}
 *
 * `t` is microseconds since sqn-sim started, `kind` the tag of
 * SIM_TRACE_MAP, `raw` (hex) only when the event carries bytes. Typed
 * events (sim/modem.h, SIM_EVENT_MAP) add "event" and their fields, so a
 * tool can judge a run without reading the text:
 *
 *   {"t":8000000,"kind":"mode","text":"up: SMOD 2 FFF, 921600 baud",
 *    "event":"up","smod":2,"baud":921600}
 *   {"t":...,"kind":"flash","text":"#6 fff slot valid: 5.1.1.0 [38638]",
 *    "event":"flash-commit","writes":6,"status":"on-going","slot":"fff",
 *    "image":{"valid":true,"version":"5.1.1.0","build":38638}}
 *
 * Lines are flushed one by one, so a killed emulator leaves a trace that
 * ends on its last complete event.
 *
 * --decode renders that for people:
 *
 *   [   0.012345]  host -> modem  AT+SMSTPU="ON_THE_FLY"
 *   [   0.013000]  host -> modem  STP BLOCK_CMD sid 1 tid 2 plen 2 hcrc ok pcrc ok
 *   [   0.013100]  modem -> host  STP BLOCK_CMD|ACK sid 1 tid 2 plen 0 hcrc 0 (not computed) pcrc ok
 */
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_TRACE_LINE_MAX (256u * 1024u)

#include "sqnup/crc.h"
#include "sqnup/stp.h"

struct sim_trace_sink {
  FILE *f;
  uint64_t t0_us;
};

static void sim_trace_hex(FILE *f, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    fputc(digits[p[i] >> 4], f);
    fputc(digits[p[i] & 15], f);
  }
}

static void sim_trace_str(FILE *f, const char *key, const char *v) {
  if (!v)
    return;
  json_t *j = json_string(v);
  char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
  fprintf(f, ",\"%s\":%s", key, q ? q : "\"\"");
  free(q);
  json_decref(j);
}

/* The typed fields of an event (none for SIM_EVENT_NONE). */
static void sim_trace_typed(FILE *f, const struct sim_event *e) {
  if (e->type == SIM_EVENT_NONE)
    return;
  fprintf(f, ",\"event\":\"%s\"", sim_event_type_name(e->type));
  switch (e->type) {
  case SIM_EVENT_AT_LINE:
    sim_trace_str(f, "line", e->line);
    break;
  case SIM_EVENT_STP_FRAME:
    fprintf(f, ",\"op\":%u,\"sid\":%u,\"tid\":%lu,\"plen\":%lu", e->op,
            e->sid, (unsigned long)e->tid, (unsigned long)e->plen);
    break;
  case SIM_EVENT_POWER_OFF:
    sim_trace_str(f, "reason", e->reason);
    break;
  case SIM_EVENT_POWER_ON:
    fprintf(f, ",\"count\":%lu", (unsigned long)e->count);
    break;
  case SIM_EVENT_BOOT:
    fprintf(f, ",\"smod\":%d", e->smod);
    break;
  case SIM_EVENT_UP:
    fprintf(f, ",\"smod\":%d,\"baud\":%lu", e->smod, (unsigned long)e->baud);
    break;
  case SIM_EVENT_STP_OPEN:
    sim_trace_str(f, "stp_mode", e->stp_mode);
    fprintf(f, ",\"mts\":%lu", (unsigned long)e->mts);
    break;
  case SIM_EVENT_FLASH_COMMIT:
    fprintf(f, ",\"writes\":%llu", (unsigned long long)e->writes);
    sim_trace_str(f, "status", e->status);
    sim_trace_str(f, "slot", e->slot);
    if (e->image) {
      fprintf(f, ",\"image\":{\"valid\":%s", e->image->valid ? "true" : "false");
      sim_trace_str(f, "version", e->image->version);
      fprintf(f, ",\"build\":%lu}", (unsigned long)e->image->build);
    }
    break;
  case SIM_EVENT_RECORD:
    sim_trace_str(f, "slot", e->slot);
    fprintf(f, ",\"bytes\":%llu", (unsigned long long)e->bytes);
    break;
  case SIM_EVENT_VERDICT:
    fprintf(f, ",\"success\":%s,\"bytes\":%llu", e->success ? "true" : "false",
            (unsigned long long)e->bytes);
    sim_trace_str(f, "reason", e->reason);
    break;
  case SIM_EVENT_FAULT:
    sim_trace_str(f, "fault", e->fault);
    sim_trace_str(f, "trigger", e->trigger);
    sim_trace_str(f, "action", e->action);
    fprintf(f, ",\"count\":%lu", (unsigned long)e->count);
    break;
  default:
    break;
  }
}

void sim_trace_write_json(void *file, const struct sim_trace_event *ev) {
  FILE *f = file;
  json_t *text = json_string(ev->text ? ev->text : "");
  char *quoted = text ? json_dumps(text, JSON_ENCODE_ANY) : NULL;
  fprintf(f, "{\"t\":%llu,\"kind\":\"%s\",\"text\":%s",
          (unsigned long long)ev->t_us, sim_trace_kind_name(ev->kind),
          quoted ? quoted : "\"\"");
  if (ev->raw && ev->raw_len) {
    fputs(",\"raw\":\"", f);
    sim_trace_hex(f, ev->raw, ev->raw_len);
    fputc('"', f);
  }
  sim_trace_typed(f, &ev->ev);
  fputs("}\n", f);
  fflush(f);
  free(quoted);
  json_decref(text);
}

static const char *sim_trace_op_name(uint8_t op) {
  switch (op & 0x3f) {
  case SQN_STP_OP_RESET: return "RESET";
  case SQN_STP_OP_OPEN: return "SESSION_OPEN";
  case SQN_STP_OP_BLOCK_CMD: return "BLOCK_CMD";
  case SQN_STP_OP_BLOCK: return "BLOCK";
  case SQN_STP_OP_DATA_TYPE: return "DATA_TYPE";
  case SQN_STP_OP_UNKNOWN: return "UNKNOWN";
  default: return "op?";
  }
}

static int sim_trace_unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s);
  if (n % 2 || n / 2 > cap)
    return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1)
      return -1;
    out[i] = (uint8_t)v;
  }
  return (int)(n / 2);
}

/* One decoded STP frame: op name, ids, length, CRC verdicts. */
static void sim_trace_print_stp(FILE *out, const uint8_t *raw, size_t n) {
  struct sqn_stp_hdr h;
  if (n < SQN_STP_HDR_LEN) {
    fprintf(out, "STP (short frame, %zu bytes)", n);
    return;
  }
  sqn_stp_hdr_parse(&h, raw);
  const char *dir = h.magic == SQN_STP_MAGIC_REQ   ? ""
                    : h.magic == SQN_STP_MAGIC_RSP ? ""
                                                   : " (bad magic)";
  const char *suffix = (h.op & SQN_STP_ACK) ? "|ACK"
                       : (h.op & SQN_STP_NACK) ? "|NACK" : "";
  fprintf(out, "STP%s %s%s sid %u tid %lu plen %u", dir,
          sim_trace_op_name(h.op), suffix, h.sid, (unsigned long)h.tid,
          h.plen);
  if (h.hcrc == 0)
    fputs(" hcrc 0 (not computed)", out);
  else
    fputs(h.hcrc == sqn_stp_hdr_crc(raw) ? " hcrc ok" : " hcrc BAD", out);
  size_t have = n - SQN_STP_HDR_LEN;
  if (have < h.plen) {
    fprintf(out, " payload truncated (%zu of %u)", have, h.plen);
    return;
  }
  uint16_t pc = sqn_crc16(0, raw + SQN_STP_HDR_LEN, h.plen);
  if (h.pcrc == pc)
    fputs(" pcrc ok", out);
  else if (h.pcrc == 0)
    fputs(" pcrc 0 (not computed)", out);
  else
    fputs(" pcrc BAD", out);
  const uint8_t *p = raw + SQN_STP_HDR_LEN;
  if ((h.op & 0x3f) == SQN_STP_OP_BLOCK_CMD && h.plen == 2 && !(h.op & 0xc0))
    fprintf(out, " len %u", (unsigned)(p[0] << 8 | p[1]));
  else if ((h.op & 0x3f) == SQN_STP_OP_BLOCK && h.plen == 2 && (h.op & 0x80))
    fprintf(out, " residue %u", (unsigned)(p[0] << 8 | p[1]));
  else if ((h.op & 0x3f) == SQN_STP_OP_OPEN && h.plen == 4)
    fprintf(out, " ok %u version %u max transfer %u", p[0], p[1],
            (unsigned)(p[2] << 8 | p[3]));
}

int sim_trace_decode(const char *path, FILE *out) {
  /* A regular file only (O_NONBLOCK: a FIFO must not block the open). */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0) {
    fprintf(stderr, "sqn-sim: %s: %s\n", path, strerror(errno));
    return SIM_EXIT_INPUT;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "sqn-sim: %s: not a regular file\n", path);
    close(fd);
    return SIM_EXIT_INPUT;
  }
  FILE *f = fdopen(fd, "r");
  if (!f) {
    fprintf(stderr, "sqn-sim: %s: %s\n", path, strerror(errno));
    close(fd);
    return SIM_EXIT_INPUT;
  }
  /* Bounded line reads: a file without newlines (a sparse file, zeros)
   * must not be read whole into memory. */
  size_t cap = SIM_TRACE_LINE_MAX + 2;
  char *line = malloc(cap);
  ssize_t len;
  if (!line) {
    fclose(f);
    return SIM_EXIT_RUNTIME;
  }
  unsigned long lineno = 0;
  int rc = SIM_EXIT_OK;
  uint8_t *raw = NULL;
  size_t rawcap = 0;

  while (fgets(line, (int)cap, f) != NULL) {
    len = (ssize_t)strlen(line);
    if (len == 0) {
      fprintf(stderr, "sqn-sim: %s:%lu: NUL byte: not a trace file\n", path,
              lineno + 1);
      rc = SIM_EXIT_INPUT;
      break;
    }
    lineno++;
    if (len <= 1)
      continue;
    /* The longest event is an 8 KiB frame in hex: a longer line is not a
     * trace. */
    if (len > SIM_TRACE_LINE_MAX && line[len - 1] != '\n') {
      fprintf(stderr, "sqn-sim: %s:%lu: line longer than %u bytes: not a "
                      "trace event\n", path, lineno, SIM_TRACE_LINE_MAX);
      rc = SIM_EXIT_INPUT;
      break;
    }
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    json_int_t t;
    const char *kind = NULL, *text = NULL, *hex = NULL;
    if (!o || json_unpack_ex(o, &jerr, 0, "{s:I,s:s,s?s,s?s}", "t", &t,
                             "kind", &kind, "text", &text, "raw", &hex) != 0) {
      fprintf(stderr, "sqn-sim: %s:%lu: not a trace event: %s\n", path,
              lineno, jerr.text);
      json_decref(o);
      rc = SIM_EXIT_INPUT;
      break;
    }
    int rawn = 0;
    if (hex) {
      size_t need = strlen(hex) / 2 + 1;
      if (need > rawcap) {
        uint8_t *nr = realloc(raw, need);
        if (!nr) {
          json_decref(o);
          rc = SIM_EXIT_RUNTIME;
          break;
        }
        raw = nr;
        rawcap = need;
      }
      rawn = sim_trace_unhex(hex, raw, rawcap);
      if (rawn < 0) {
        fprintf(stderr, "sqn-sim: %s:%lu: bad hex in \"raw\"\n", path, lineno);
        json_decref(o);
        rc = SIM_EXIT_INPUT;
        break;
      }
    }
    const char *arrow = "               ";
    bool rx = strcmp(kind, "at<") == 0 || strcmp(kind, "stp<") == 0;
    bool tx = strcmp(kind, "at>") == 0 || strcmp(kind, "stp>") == 0;
    if (rx)
      arrow = "host -> modem  ";
    else if (tx)
      arrow = "modem -> host  ";
    fprintf(out, "[%5llu.%06llu] %-7s %s", (unsigned long long)(t / 1000000),
            (unsigned long long)(t % 1000000), kind, arrow);
    if ((strcmp(kind, "stp<") == 0 || strcmp(kind, "stp>") == 0) && rawn > 0)
      sim_trace_print_stp(out, raw, (size_t)rawn);
    else
      fputs(text ? text : "", out);
    fputc('\n', out);
    json_decref(o);
  }
  free(raw);
  free(line);
  fclose(f);
  return rc;
}
