/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The STP slave and the upgrade engine (modem-model.md sections 5 and 6,
 * protocol.md 4.5-4.7 and 5.4).
 *
 * Slave, one frame at a time (the byte-level hunt, CRC checks and drops are
 * the shared sqn_stp_decoder's):
 *
 *            RESET (no session): ack, stay
 *   ┌──────┐ OPEN ──► ack ok=1 ver=1 mts ┌─────────┐
 *   │ idle │────────────────────────────►│ session │◄─┐ BLOCK_CMD len L: ack
 *   └──────┘                             └─────────┘  │ BLOCK plen == L: feed,
 *      ▲         RESET: ack, leave STP,       │       │   ack residue
 *      └────────── act on the data ───────────┴───────┘
 *
 * A BLOCK whose length differs from the announced one, or without an
 * announcement, is dropped unanswered (the host times out and resends). A
 * BLOCK repeating the tid of the previous one (the host lost our ack) is
 * acknowledged again with the same residue and not consumed twice.
 *
 * Bytes that follow the RESET ending the session in the same input chunk
 * are not STP's: sim_stp_feed() finds where that frame ended from the
 * decoder's byte accounting and hands the rest back to the AT layer.
 *
 * What the data becomes:
 *   OTF    a .dup validated by the streaming CABA walker as it arrives. The
 *          first data byte sets upgrade_status on-going; the first data byte
 *          of an updater or fff record marks that slot invalid (persisted)
 *          before it is "overwritten". The updater slot turns valid when its
 *          record has been written and checked (so a cut later in the push
 *          boots RECOVERY, faults.md S17a). At session end a package that
 *          validated completely makes the fff slot (and the bootrom) valid
 *          with the package's versions, status success; otherwise status
 *          fail with the reason.
 *          Slots already marked invalid stay invalid (from FFF a failed push
 *          therefore boots RECOVERY next time, as in the field reports); a
 *          package refused before any slot was touched leaves them valid.
 *          The bootrom record is applied atomically at session end.
 *   STORE  up to 4 MiB kept in fs_store; beyond that the BLOCK residue
 *          reports the bytes not taken and the store is discarded at
 *          session end. AT+SMUPGRADE then validates the whole store first
 *          (a bad store keeps the old images), marks the slots invalid,
 *          stays silent for 60 s per 5 MB, marks them valid and boots FFF.
 *   ELF    AT+STP in FFH: an ELF (7F 45 4C 46) runs from RAM at session
 *          end: SMOD 1 at the negotiated rate, lost at power off.
 *
 * Two-part packages (faults.md F20): the fff record's description says
 * "part 1/2", or "part 2/2 from A.B.C.D [BUILD]". Part 1's success writes
 * the intermediate fff image together with part2_pending (one flash step)
 * and marks the power session (part1_live). Part 2 is taken only on top of
 * that intermediate image: otherwise it is refused at the fff record's
 * first data byte, before the fff slot is touched. Any later success that
 * is not a part 1 clears part2_pending. The tag is read here with the
 * model's own parser, not sqnup_pkg's, so that host and modem do not share
 * a bug.
 *
 * SIM_DEBUG_MARK_VALID_EARLY (test only) inverts the fff ordering: valid,
 * flagged `incomplete`, at the record's first byte; complete at its end.
 *
 * Memory is bounded independently of the package size: the walker keeps a
 * few KiB; only the store keeps data (at most 4 MiB).
 */
#include "modem_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sim_slot_names[SIM_SLOT_N] = {"bootrom", "updater",
                                                       "fff"};

static int sim_slot_of(uint32_t target)
{
  switch (target) {
  case SQN_CABA_TARGET_BOOT:
    return SIM_SLOT_BOOT;
  case SQN_CABA_TARGET_UPDATER:
    return SIM_SLOT_UPDATER;
  case SQN_CABA_TARGET_FFF:
    return SIM_SLOT_FFF;
  default:
    return -1;
  }
}

static struct sim_image *sim_slot_image(struct sim_modem *m, int slot)
{
  switch (slot) {
  case SIM_SLOT_BOOT:
    return &m->st.bootrom;
  case SIM_SLOT_UPDATER:
    return &m->st.updater;
  default:
    return &m->st.fff;
  }
}

/* ---- upgrade engine ------------------------------------------------------ */

static void sim_up_commit_slot(struct sim_modem *m, int s);

static bool sim_debug_valid_early(const struct sim_modem *m)
{
  return (m->cfg.debug_flags & SIM_DEBUG_MARK_VALID_EARLY) != 0;
}

static void sim_up_set_version(struct sim_image *img,
                               const struct sqn_image_version *v)
{
  if (v->found) {
    snprintf(img->version, sizeof(img->version), "%u.%u.%u.%u", v->v[0],
             v->v[1], v->v[2], v->v[3]);
    img->build = v->build;
  } else {
    snprintf(img->version, sizeof(img->version), "unknown");
    img->build = 0;
  }
}

/* SIM_DEBUG_MARK_VALID_EARLY only: the deliberately wrong ordering, valid
 * before a byte is written. The version is what is known so far (the
 * record's version text usually comes later: then "unknown"). */
static void sim_up_mark_valid_early(struct sim_modem *m, int s)
{
  struct sim_image *img = sim_slot_image(m, s);
  char what[96];
  sim_up_set_version(img, &m->upg.run.version[s]);
  img->valid = true;
  img->incomplete = true;
  snprintf(what, sizeof(what),
           "%s slot valid before it is written: %s [%u] (debug: broken "
           "ordering)",
           sim_slot_names[s], img->version, img->build);
  sim_flash_commit(m, what);
}

/* "... part N/M[ from A.B.C.D [BUILD]]" -> N (0: no tag) and the base. */
static unsigned sim_up_part_tag(const char *descr,
                                struct sqn_image_version *base)
{
  const char *p = strstr(descr, " part ");
  unsigned n = 0, mparts = 0;
  memset(base, 0, sizeof(*base));
  if (!p)
    return 0;
  for (p += 6; *p >= '0' && *p <= '9' && n < 100; p++)
    n = n * 10u + (unsigned)(*p - '0');
  if (*p++ != '/')
    return 0;
  for (; *p >= '0' && *p <= '9' && mparts < 100; p++)
    mparts = mparts * 10u + (unsigned)(*p - '0');
  if (n == 0 || mparts < 2 || n > mparts)
    return 0;
  if (strncmp(p, " from ", 6) == 0 && sqn_version_parse(base, p + 6) == 0)
    base->found = true;
  return n;
}

/* The fff record's first data byte: read its part tag. A part 2 that does
 * not sit on the intermediate image of its part 1 is refused here (returns
 * -1), before the fff slot is marked. */
static int sim_up_check_part(struct sim_modem *m,
                             const struct sqn_caba_record *rec)
{
  struct sim_upgrade *up = &m->upg.run;
  struct sqn_image_version base;
  char want[40];
  up->part_seen = true;
  up->part = sim_up_part_tag(rec->descr, &base);
  if (up->part < 2)
    return 0;
  if (base.found)
    snprintf(want, sizeof(want), "%u.%u.%u.%u", base.v[0], base.v[1],
             base.v[2], base.v[3]);
  if (m->st.part2_pending && m->st.fff.valid && base.found &&
      strcmp(m->st.fff.version, want) == 0 && m->st.fff.build == base.build)
    return 0;
  up->forced_fail = true;
  if (base.found)
    snprintf(up->forced_reason, sizeof(up->forced_reason),
             "part %u needs the intermediate image %s [%u] of part 1; fff is "
             "%s [%u]%s",
             up->part, want, base.build, m->st.fff.version, m->st.fff.build,
             m->st.part2_pending ? "" : ", no part pending");
  else
    snprintf(up->forced_reason, sizeof(up->forced_reason),
             "part %u names no base image", up->part);
  sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0, "package refused: %s",
            up->forced_reason);
  return -1;
}

/* A verdict was success: part2_pending goes with the fff slot, in the same
 * flash write (set by a part 1, cleared by anything else). */
static void sim_up_part_verdict(struct sim_modem *m)
{
  if (!m->upg.run.staged[SIM_SLOT_FFF])
    return;
  m->st.part2_pending = m->upg.run.part == 1;
  if (m->upg.run.part == 1) {
    m->pwr.part1_live = true;
    sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
              "part 1 of 2 applied: intermediate image; part 2 pending");
  }
}

static int sim_up_walk_cb(void *user, enum sqn_caba_event ev,
                          const struct sqn_caba_record *rec,
                          const uint8_t *data, size_t len)
{
  struct sim_modem *m = user;
  struct sim_upgrade *up = &m->upg.run;
  (void)data, (void)len;
  if (ev == SQN_CABA_EV_BEGIN && rec->depth == 0 && !up->first_len)
    up->first_len = rec->length;
  if (!rec->has_target)
    return 0;
  int slot = sim_slot_of(rec->target);
  if (slot < 0)
    return 0;
  if (ev == SQN_CABA_EV_DATA && slot == SIM_SLOT_FFF && !up->part_seen &&
      sim_up_check_part(m, rec) != 0)
    return 1; /* stops the walk: the fff slot stays as it is */
  if (ev == SQN_CABA_EV_DATA && !up->dry && slot != SIM_SLOT_BOOT &&
      !up->marked[slot]) {
    up->marked[slot] = true;
    if (slot == SIM_SLOT_FFF && sim_debug_valid_early(m)) {
      up->version[slot] = rec->image;
      sim_up_mark_valid_early(m, slot);
    } else {
      char what[64];
      sim_slot_image(m, slot)->valid = false;
      snprintf(what, sizeof(what), "%s slot invalid (being overwritten)",
               sim_slot_names[slot]);
      sim_flash_commit(m, what);
    }
  } else if (ev == SQN_CABA_EV_END) {
    up->staged[slot] = true;
    up->version[slot] = rec->image;
    /* The updater slot is valid again as soon as its record is written and
     * checked (section 2), so a cut later in the package boots RECOVERY
     * (faults.md S17a). The fff slot waits for the whole package (section
     * 5); the bootrom is applied at session end, atomically. */
    if (!up->dry && slot == SIM_SLOT_UPDATER && up->marked[slot]) {
      sim_up_commit_slot(m, slot);
      up->staged[slot] = false;
    }
    /* The broken ordering's slot is complete now (still committed again
     * at session end with the others, harmlessly). */
    if (!up->dry && slot == SIM_SLOT_FFF && up->marked[slot] &&
        sim_debug_valid_early(m))
      sim_up_commit_slot(m, slot);
    struct sim_event e = {.type = SIM_EVENT_RECORD,
                          .slot = sim_slot_names[slot],
                          .bytes = rec->offset};
    sim_trace_ev(m, SIM_TRACE_UPGRADE, &e, NULL, 0,
              "record %s (%s) at %llu checked, version %s%u.%u.%u.%u [%u]",
              rec->magic, sim_slot_names[slot],
              (unsigned long long)rec->offset, rec->image.found ? "" : "none ",
              rec->image.v[0], rec->image.v[1], rec->image.v[2],
              rec->image.v[3], rec->image.build);
  }
  return 0;
}

static void sim_up_init(struct sim_modem *m, bool dry)
{
  /* A FAIL_UPGRADE fault may have fired on the command that starts this. */
  bool forced = m->upg.run.forced_fail;
  char reason[SIM_FAULT_TEXT_MAX];
  memcpy(reason, m->upg.run.forced_reason, sizeof(reason));
  memset(&m->upg.run, 0, sizeof(m->upg.run));
  m->upg.run.forced_fail = forced;
  memcpy(m->upg.run.forced_reason, reason, sizeof(reason));
  m->upg.run.dry = dry;
  sqn_caba_walker_init(&m->upg.run.walker, sim_up_walk_cb, m);
}

/* The verdict text for a walker error. */
static void sim_up_reason(const struct sqn_caba_walker *w, int rc, char *buf,
                          size_t cap)
{
  if (w->err_magic[0])
    snprintf(buf, cap, "record %s at %llu: %s", w->err_magic,
             (unsigned long long)w->err_record, sqn_caba_strerror(rc));
  else
    snprintf(buf, cap, "at byte %llu: %s", (unsigned long long)w->err_offset,
             sqn_caba_strerror(rc));
}

/* Finish the walk; 0 with everything staged, or -1 with `reason`. */
static int sim_up_verdict(struct sim_modem *m, char *reason, size_t cap)
{
  int rc = sqn_caba_walker_finish(&m->upg.run.walker);
  if (m->upg.run.forced_fail) {
    m->upg.run.forced_fail = false;
    snprintf(reason, cap, "%s", m->upg.run.forced_reason);
    return -1;
  }
  if (rc) {
    sim_up_reason(&m->upg.run.walker, rc, reason, cap);
    return -1;
  }
  return 0;
}

/* Write one staged image: one flash step. */
static void sim_up_commit_slot(struct sim_modem *m, int s)
{
  struct sim_image *img = sim_slot_image(m, s);
  char what[96];
  sim_up_set_version(img, &m->upg.run.version[s]);
  img->valid = true;
  img->incomplete = false;
  snprintf(what, sizeof(what), "%s slot valid: %s [%u]", sim_slot_names[s],
           img->version, img->build);
  sim_flash_commit(m, what);
}

/* Write the staged images, bootrom first (atomically, one step). */
static void sim_up_commit_slots(struct sim_modem *m)
{
  for (int s = 0; s < SIM_SLOT_N; s++)
    if (m->upg.run.staged[s])
      sim_up_commit_slot(m, s);
}

static void sim_otf_end(struct sim_modem *m)
{
  char reason[160];
  if (!m->upg.run.started) {
    /* No data at all: nothing was touched, nothing to report. */
    sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0, "session ended without data");
    return;
  }
  if (sim_up_verdict(m, reason, sizeof(reason)) == 0) {
    sim_up_part_verdict(m);
    sim_up_commit_slots(m);
    sim_set_status(m, "success", NULL);
    sim_upgrade_success_hooks(m);
    struct sim_event e = {.type = SIM_EVENT_VERDICT,
                          .success = true,
                          .bytes = m->stp.pkg_off};
    sim_trace_ev(m, SIM_TRACE_UPGRADE, &e, NULL, 0,
                 "verdict: success (%llu bytes)",
                 (unsigned long long)m->stp.pkg_off);
  } else {
    sim_set_status(m, "fail", reason);
    struct sim_event e = {.type = SIM_EVENT_VERDICT,
                          .bytes = m->stp.pkg_off,
                          .reason = reason};
    sim_trace_ev(m, SIM_TRACE_UPGRADE, &e, NULL, 0, "verdict: fail: %s",
                 reason);
  }
}

/* ---- sessions ------------------------------------------------------------ */

/* Consume BLOCK data; returns how many bytes were taken. */
static size_t sim_stp_sink(struct sim_modem *m, const uint8_t *data,
                           size_t len)
{
  switch (m->stp.kind) {
  case SIM_STP_OTF:
    if (!m->upg.run.started && len) {
      m->upg.run.started = true;
      sim_set_status(m, "on-going", NULL);
    }
    if (!m->upg.run.walker.err &&
        sqn_caba_walker_feed(&m->upg.run.walker, data, len))
      sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                "package defect at byte %llu: %s (reported at session end)",
                (unsigned long long)m->upg.run.walker.err_offset,
                sqn_caba_strerror(m->upg.run.walker.err));
    return len;
  case SIM_STP_STORE: {
    size_t room = SIM_FS_STORE_MAX - m->upg.store_len;
    size_t take = len < room ? len : room;
    if (take < len && !m->upg.store_overflow) {
      m->upg.store_overflow = true;
      sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                "store full at %u bytes: residue reported", SIM_FS_STORE_MAX);
    }
    if (m->cfg.store_io) {
      /* Straight to the file as it arrives: no copy in memory. */
      if (take && !m->upg.store_io_err &&
          m->cfg.store_io->append(m->cfg.store_io->ctx, data, take) != 0) {
        m->upg.store_io_err = true;
        sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                  "store file write failed at byte %zu", m->upg.store_len);
      }
      m->upg.store_len += take;
      return take;
    }
    if (m->upg.store_len + take > m->upg.store_cap) {
      size_t ncap = m->upg.store_cap ? m->upg.store_cap * 2 : 65536;
      while (ncap < m->upg.store_len + take)
        ncap *= 2;
      if (ncap > SIM_FS_STORE_MAX)
        ncap = SIM_FS_STORE_MAX;
      uint8_t *n = realloc(m->upg.store, ncap);
      if (!n)
        return 0;
      m->upg.store = n;
      m->upg.store_cap = ncap;
    }
    memcpy(m->upg.store + m->upg.store_len, data, take);
    m->upg.store_len += take;
    return take;
  }
  case SIM_STP_ELF:
    for (size_t i = 0; i < len && m->upg.elf_len + i < 4; i++)
      m->upg.elf_head[m->upg.elf_len + i] = data[i];
    m->upg.elf_len += len;
    return len;
  }
  return len;
}

static void sim_stp_on_drop(void *user, enum sqn_stp_drop reason,
                            size_t bytes)
{
  struct sim_modem *m = user;
  m->stp.acct += bytes;
  if (m->at.link != SIM_LINK_STP)
    return;
  sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0, "%s: %zu bytes (%s)",
            sqn_stp_drop_name(reason), bytes, sqn_stp_drop_text(reason));
}

static void sim_stp_send(struct sim_modem *m, const struct sqn_stp_hdr *req,
                         uint8_t op, const uint8_t *payload, uint16_t plen,
                         const struct sim_fx *fx)
{
  uint8_t out[SQN_STP_HDR_LEN + 8];
  unsigned flags = m->cfg.stp_compute_hcrc ? 0u : SQN_STP_ENC_ZERO_HCRC;
  size_t n = sqn_stp_encode(out, sizeof(out), SQN_STP_MAGIC_RSP, op, req->sid,
                            req->tid, payload, plen, flags);
  if (!n)
    return;
  /* Faults corrupt the encoded frame, like a line or firmware bug would. */
  if (fx->corrupt & 1u << 0)
    out[3] ^= 0x01; /* 74 73 61 66 -> 74 73 61 67 */
  if (fx->corrupt & 1u << 1)
    out[13] ^= 0x01, out[12] ^= 0x80;
  if (fx->corrupt & 1u << 2)
    out[15] ^= 0x01;
  if (fx->corrupt & 1u << 3)
    out[4] ^= 0x01;
  if (fx->corrupt & 1u << 4)
    out[5] ^= 0x01;
  if (fx->corrupt & 1u << 5)
    out[11] ^= 0x01;
  sim_trace(m, SIM_TRACE_STP_TX, out, n, "op 0x%02x sid %u tid %u plen %u",
            out[4], out[5], req->tid, plen);
  if (fx->nurc) {
    struct sim_fx urc = *fx;
    urc.delay_us = 0;
    urc.split = 0;
    sim_at_reply_lines(m, NULL, 0, -1, &urc);
  }
  sim_out_fx(m, out, n, fx);
}

static void sim_stp_end_session(struct sim_modem *m)
{
  m->stp.end_pos = m->stp.acct;
  m->stp.session = false;
  sim_set_link(m, SIM_LINK_AT, "STP session ended");
  sim_at_reset(m);
  struct sim_event closed = {.type = SIM_EVENT_STP_CLOSE};
  sim_trace_ev(m, SIM_TRACE_MODE, &closed, NULL, 0, "STP session ended");
  switch (m->stp.kind) {
  case SIM_STP_OTF:
    sim_otf_end(m);
    break;
  case SIM_STP_STORE:
    if (m->upg.store_overflow) {
      sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                "store refused: more than %u bytes", SIM_FS_STORE_MAX);
      free(m->upg.store);
      if (m->st.fs_store) {
        sim_state_release(&m->st);
        sim_flash_commit(m, "fs_store cleared");
      }
    } else if (m->upg.store_len && m->cfg.store_io) {
      char name[sizeof(m->st.fs_store_file)];
      if (m->upg.store_io_err ||
          m->cfg.store_io->commit(m->cfg.store_io->ctx, name, sizeof(name)) != 0) {
        sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                  "store file could not be written: store lost");
      } else {
        free(m->st.fs_store);
        m->st.fs_store = NULL;
        snprintf(m->st.fs_store_file, sizeof(m->st.fs_store_file), "%s",
                 name);
        m->st.fs_store_len = (uint32_t)m->upg.store_len;
        char what[64 + sizeof(name)];
        snprintf(what, sizeof(what), "fs_store written: %zu bytes (%s)",
                 m->upg.store_len, name);
        sim_flash_commit(m, what);
      }
      m->upg.store_len = 0;
    } else if (m->upg.store_len) {
      free(m->st.fs_store);
      m->st.fs_store = m->upg.store;
      m->st.fs_store_file[0] = '\0';
      m->st.fs_store_len = (uint32_t)m->upg.store_len;
      char what[64];
      snprintf(what, sizeof(what), "fs_store written: %zu bytes",
               m->upg.store_len);
      sim_flash_commit(m, what);
    } else {
      free(m->upg.store);
    }
    m->upg.store = NULL;
    m->upg.store_len = m->upg.store_cap = 0;
    break;
  case SIM_STP_ELF:
    if (m->upg.elf_len >= 4 && !memcmp(m->upg.elf_head, "\x7f" "ELF", 4)) {
      sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                "ELF of %llu bytes loaded: running it",
                (unsigned long long)m->upg.elf_len);
      m->pwr.elf_loaded = true;
      /* Boot into SMOD 1 without touching flash; the UART keeps its rate. */
      sim_boot_into(m, SIM_SMOD_FFH_ELF, "ELF loaded over STP");
    } else {
      sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                "ELF refused (%llu bytes, no 7F 45 4C 46)",
                (unsigned long long)m->upg.elf_len);
    }
    break;
  }
}

/* The faults a request frame triggers, by frame, op, offset and percent. */
static void sim_stp_frame_faults(struct sim_modem *m,
                                 const struct sqn_stp_hdr *h,
                                 struct sim_fx *fx)
{
  struct sim_fault_event ev = {.when = SIM_FAULT_ON_STP_FRAME};
  sim_faults_fire(m, &ev, fx);
  if (!fx->stop) {
    ev = (struct sim_fault_event){.when = SIM_FAULT_ON_STP_OP, .op = h->op};
    sim_faults_fire(m, &ev, fx);
  }
  if (!fx->stop && h->op == SQN_STP_OP_BLOCK && m->stp.session &&
      h->plen == m->stp.announced) {
    ev = (struct sim_fault_event){.when = SIM_FAULT_ON_STP_OFFSET,
                                  .off = m->stp.pkg_off, .len = h->plen};
    sim_faults_fire(m, &ev, fx);
    ev.when = SIM_FAULT_ON_STP_PERCENT;
    if (!fx->stop)
      sim_faults_fire(m, &ev, fx);
  }
}

static void sim_stp_on_open(struct sim_modem *m, const struct sqn_stp_hdr *h,
                            struct sim_fx *fx)
{
  uint8_t p[4] = {1, 1, (uint8_t)(m->stp.mts >> 8), (uint8_t)m->stp.mts};
  if (h->plen) {
    sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0, "OPEN with a payload");
    return;
  }
  m->stp.session = true;
  m->stp.announced = 0;
  sim_stp_send(m, h, SQN_STP_OP_OPEN | SQN_STP_ACK, p, 4, fx);
}

static void sim_stp_on_block_cmd(struct sim_modem *m,
                                 const struct sqn_stp_frame *f,
                                 struct sim_fx *fx)
{
  const struct sqn_stp_hdr *h = &f->hdr;
  uint16_t l = h->plen == 2
                   ? (uint16_t)(f->payload[0] << 8 | f->payload[1])
                   : 0;
  if (!m->stp.session || h->plen != 2 || l == 0 || l > m->stp.mts - 16) {
    sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0,
              "BLOCK_CMD malformed (session %d, plen %u, length %u)",
              m->stp.session, h->plen, l);
    return;
  }
  m->stp.announced = l;
  sim_stp_send(m, h, SQN_STP_OP_BLOCK_CMD | SQN_STP_ACK, NULL, 0, fx);
}

static void sim_stp_on_block(struct sim_modem *m, const struct sqn_stp_frame *f,
                             struct sim_fx *fx)
{
  const struct sqn_stp_hdr *h = &f->hdr;
  uint8_t p[2];
  if (m->stp.session && !m->stp.announced && m->stp.have_block &&
      h->tid == m->stp.last_block_tid && h->plen == m->stp.last_block_len) {
    /* Our ack got lost: acknowledge again, do not consume twice. */
    p[0] = (uint8_t)(m->stp.last_residue >> 8);
    p[1] = (uint8_t)m->stp.last_residue;
    sim_stp_send(m, h, SQN_STP_OP_BLOCK | SQN_STP_ACK, p, 2, fx);
    return;
  }
  if (!m->stp.session || !m->stp.announced || h->plen != m->stp.announced) {
    sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0,
              "BLOCK malformed (session %d, plen %u, announced %u)",
              m->stp.session, h->plen, m->stp.announced);
    return;
  }
  m->stp.announced = 0;
  size_t want = h->plen;
  if (fx->residue)
    want -= fx->residue_n < want ? fx->residue_n : want;
  size_t took = sim_stp_sink(m, f->payload, want);
  if (m->at.link != SIM_LINK_STP || m->pwr.power != SIM_PWR_ON)
    return;
  m->stp.pkg_off += took;
  uint16_t residue = (uint16_t)(h->plen - took);
  m->stp.have_block = true;
  m->stp.last_block_tid = h->tid;
  m->stp.last_block_len = h->plen;
  m->stp.last_residue = residue;
  p[0] = (uint8_t)(residue >> 8);
  p[1] = (uint8_t)residue;
  sim_stp_send(m, h, SQN_STP_OP_BLOCK | SQN_STP_ACK, p, 2, fx);
}

static void sim_stp_on_frame(void *user, const struct sqn_stp_frame *f)
{
  struct sim_modem *m = user;
  const struct sqn_stp_hdr *h = &f->hdr;
  struct sim_fx fx = {0};

  m->stp.acct += f->raw_len;
  /* Frames after the session ended (same input chunk) are not STP's: the
   * bytes go to the AT layer once the decoder returns (sim_stp_feed). */
  if (m->at.link != SIM_LINK_STP || m->pwr.power != SIM_PWR_ON || m->flt.silent)
    return;
  m->stp.frames++;
  sim_trace(m, SIM_TRACE_STP_RX, f->raw, h->op == SQN_STP_OP_BLOCK ? 16 : f->raw_len,
            "op %u sid %u tid %u plen %u hcrc %s pcrc ok", h->op, h->sid,
            h->tid, h->plen, f->hcrc_checked ? "ok" : "zero");

  sim_stp_frame_faults(m, h, &fx);
  if (fx.stop || m->at.link != SIM_LINK_STP || m->pwr.power != SIM_PWR_ON)
    return;
  if (m->stp.drop_left) {
    m->stp.drop_left--;
    sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0, "frame tid %u ignored (fault)",
              h->tid);
    return;
  }
  if (fx.drop) {
    m->stp.drop_left = fx.drop - 1;
    sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0, "frame tid %u ignored (fault)",
              h->tid);
    return;
  }
  if (fx.reply == SIM_FX_NOTHING)
    return;
  if (fx.nack) {
    sim_stp_send(m, h, (uint8_t)(h->op | SQN_STP_NACK), NULL, 0, &fx);
    return;
  }

  switch (h->op) {
  case SQN_STP_OP_RESET:
    sim_stp_send(m, h, SQN_STP_OP_RESET | SQN_STP_ACK, NULL, 0, &fx);
    m->stp.announced = 0;
    if (m->stp.session)
      sim_stp_end_session(m);
    break;
  case SQN_STP_OP_OPEN:
    sim_stp_on_open(m, h, &fx);
    break;
  case SQN_STP_OP_BLOCK_CMD:
    sim_stp_on_block_cmd(m, f, &fx);
    break;
  case SQN_STP_OP_BLOCK:
    sim_stp_on_block(m, f, &fx);
    break;
  default:
    /* A v1 slave does not know TRANSFER_DATA_TYPE or later ops. */
    sim_trace(m, SIM_TRACE_STP_DROP, NULL, 0, "op %u not supported (v1)",
              h->op);
    break;
  }
}

int sim_stp_begin(struct sim_modem *m, enum sim_stp_kind kind)
{
  struct sqn_stp_decoder_config dc = {
      .magic = SQN_STP_MAGIC_REQ,
      .buf = m->stp.buf,
      .buf_cap = SQN_STP_HDR_LEN + SIM_STP_MTS_APP,
      .flags = SQN_STP_DEC_HCRC_ZERO_OK,
      .on_frame = sim_stp_on_frame,
      .on_drop = sim_stp_on_drop,
      .user = m,
  };
  m->stp.mts = m->pwr.smod == SIM_SMOD_FFH ? SIM_STP_MTS_FFH : SIM_STP_MTS_APP;
  dc.max_plen = (uint16_t)(m->stp.mts - 16);
  if (sqn_stp_decoder_init(&m->stp.dec, &dc))
    return -1;
  m->stp.kind = kind;
  sim_set_link(m, SIM_LINK_STP, "STP session begins");
  m->stp.session = false;
  m->stp.announced = 0;
  m->stp.have_block = false;
  m->stp.frames = 0;
  m->stp.drop_left = 0;
  m->stp.pkg_off = 0;
  m->stp.fed = m->stp.acct = 0;
  m->stp.end_pos = SIM_NEVER;
  m->upg.elf_len = 0;
  free(m->upg.store);
  m->upg.store = NULL;
  m->upg.store_len = m->upg.store_cap = 0;
  m->upg.store_overflow = false;
  m->upg.store_io_err = false;
  if (kind == SIM_STP_STORE && m->cfg.store_io &&
      m->cfg.store_io->begin(m->cfg.store_io->ctx) != 0)
    m->upg.store_io_err = true;
  if (kind == SIM_STP_OTF)
    sim_up_init(m, false);
  static const char *const names[] = {"ON_THE_FLY", "store", "ELF"};
  struct sim_event e = {.type = SIM_EVENT_STP_OPEN,
                        .stp_mode = names[kind],
                        .mts = m->stp.mts};
  sim_trace_ev(m, SIM_TRACE_MODE, &e, NULL, 0,
               "STP slave (%s, max transfer %u)", names[kind], m->stp.mts);
  return 0;
}

size_t sim_stp_feed(struct sim_modem *m, const uint8_t *buf, size_t len)
{
  size_t skipped = 0;
  if (m->stp.skip_lf && len && buf[0] == '\n')
    skipped = 1;
  m->stp.skip_lf = false;
  buf += skipped;
  len -= skipped;
  if (!len)
    return skipped;
  /* The decoder has no "stop after this frame": it runs through the whole
   * buffer, and frames after the session's end are ignored by the frame
   * callback. Its byte accounting then tells where the session ended, and
   * the bytes after that go back to the caller for the AT layer (a host
   * often writes the final RESET and its next AT command in one go). */
  uint64_t start = m->stp.fed;
  m->stp.end_pos = SIM_NEVER;
  sqn_stp_decoder_feed(&m->stp.dec, buf, len);
  m->stp.fed += len;
  if (m->at.link == SIM_LINK_STP || m->stp.end_pos == SIM_NEVER)
    return skipped + len;
  /* A frame completed from bytes of an earlier call (a rescan) ends before
   * this buffer: the bytes between are gone, all of this buffer is AT's. */
  uint64_t end = m->stp.end_pos < start ? start : m->stp.end_pos;
  if (end > start + len)
    end = start + len;
  return skipped + (size_t)(end - start);
}

/* Power cut or reboot in the middle of a session: RAM is gone; whatever the
 * engine already persisted (on-going, slots invalid) stays. */
void sim_stp_abort(struct sim_modem *m)
{
  free(m->upg.store);
  m->upg.store = NULL;
  m->upg.store_len = m->upg.store_cap = 0;
  m->stp.session = false;
}

void sim_upgrade_success_hooks(struct sim_modem *m)
{
  if (!m->flt.uart_reset_armed)
    return;
  /* F22: the new firmware starts from a default UART configuration. */
  char what[64];
  m->st.uart_baud = m->flt.uart_reset_armed;
  m->flt.uart_reset_armed = 0;
  snprintf(what, sizeof(what), "uart_baud %u (config reset by the upgrade)",
           m->st.uart_baud);
  sim_flash_commit(m, what);
}

/* ---- AT+SMUPGRADE -------------------------------------------------------- */

bool sim_store_present(const struct sim_modem *m)
{
  if (!m->st.fs_store_len)
    return false;
  return m->st.fs_store || (m->st.fs_store_file[0] && m->cfg.store_io);
}

int sim_store_apply_start(struct sim_modem *m)
{
  char reason[160];
  uint32_t len = m->st.fs_store_len;
  sim_set_status(m, "on-going", NULL);
  /* Validate the whole stored file before touching any slot. */
  sim_up_init(m, true);
  if (m->st.fs_store) {
    sqn_caba_walker_feed(&m->upg.run.walker, m->st.fs_store, len);
  } else {
    /* From the store file, a window at a time. */
    enum { SIM_STORE_WINDOW = 64 * 1024 };
    uint8_t *win = malloc(SIM_STORE_WINDOW);
    uint32_t off = 0;
    while (win && off < len) {
      uint32_t n = len - off < SIM_STORE_WINDOW ? len - off : SIM_STORE_WINDOW;
      if (m->cfg.store_io->read(m->cfg.store_io->ctx, m->st.fs_store_file, off, win,
                                n) != 0)
        break;
      sqn_caba_walker_feed(&m->upg.run.walker, win, n);
      off += n;
    }
    free(win);
    if (off < len) {
      /* Unreadable: the walk stops short, and the verdict says so. */
      sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
                "store file unreadable at byte %u", off);
    }
  }
  m->pwr.apply_ok = sim_up_verdict(m, reason, sizeof(reason)) == 0;
  snprintf(m->pwr.apply_reason, sizeof(m->pwr.apply_reason), "%s",
           m->pwr.apply_ok ? "" : reason);
  if (m->pwr.apply_ok) {
    for (int s = SIM_SLOT_UPDATER; s < SIM_SLOT_N; s++) {
      if (!m->upg.run.staged[s])
        continue;
      if (s == SIM_SLOT_FFF && sim_debug_valid_early(m)) {
        sim_up_mark_valid_early(m, s);
        continue;
      }
      char what[64];
      sim_slot_image(m, s)->valid = false;
      snprintf(what, sizeof(what), "%s slot invalid (being overwritten)",
               sim_slot_names[s]);
      sim_flash_commit(m, what);
    }
  }
  sim_set_power(m, SIM_PWR_APPLYING, "store apply");
  sim_set_smod(m, SIM_SMOD_NONE, "store apply");
  /* 60 s per 5 MB (12 us per byte) before the time scale. */
  m->pwr.apply_done_at = m->now + sim_scaled(m, (uint64_t)len * 12u);
  sim_trace(m, SIM_TRACE_UPGRADE, NULL, 0,
            "applying %u stored bytes (%s)", len,
            m->pwr.apply_ok ? "valid" : "invalid");
  return 0;
}

void sim_store_apply_done(struct sim_modem *m)
{
  if (m->pwr.apply_ok) {
    sim_up_part_verdict(m);
    sim_up_commit_slots(m);
    sim_set_status(m, "success", NULL);
    sim_upgrade_success_hooks(m);
  } else {
    sim_set_status(m, "fail", m->pwr.apply_reason);
  }
  struct sim_event e = {.type = SIM_EVENT_VERDICT,
                        .success = m->pwr.apply_ok,
                        .bytes = m->upg.store_len,
                        .reason = m->pwr.apply_ok ? NULL : m->pwr.apply_reason};
  sim_trace_ev(m, SIM_TRACE_UPGRADE, &e, NULL, 0, "verdict: %s%s%s",
               m->pwr.apply_ok ? "success" : "fail",
               m->pwr.apply_ok ? "" : ": ",
               m->pwr.apply_reason);
  sim_state_release(&m->st);
  sim_flash_commit(m, "fs_store cleared");
  sim_boot_start(m, "after upgrade");
}
