/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem's persistent state (its flash): what survives AT^RESET, power
 * cuts and emulator restarts (modem-model.md section 2). Stored as one
 * human-readable JSON file, written atomically (temp file, fsync, rename).
 */
#ifndef SIM_STATE_H
#define SIM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sim_profile { SIM_PROFILE_MONARCH1 = 0, SIM_PROFILE_GM02S = 1 };

/* AT+SMSWBOOT numbering. */
enum sim_boot {
  SIM_BOOT_FFH = 0,
  SIM_BOOT_FFF = 1,
  SIM_BOOT_UPDATER = 2,
  SIM_BOOT_RECOVERY = 3
};

#define SIM_FS_STORE_MAX (4u * 1024u * 1024u)

struct sim_image {
  bool valid;
  char version[24]; /* "5.1.1.0", or "unknown" */
  uint32_t build;   /* 33988 */
  char ue[24];      /* "5.0.0.0c" (fff only) */
  /* Valid, but not all its bytes were written: only a deliberately broken
   * write ordering gets here (SIM_DEBUG_MARK_VALID_EARLY, modem.h). Booting
   * such an image hangs silently. In JSON only when true. */
  bool incomplete;
};

struct sim_state {
  enum sim_profile profile;
  enum sim_boot boot_select;
  struct sim_image fff;
  struct sim_image updater;
  struct sim_image bootrom;
  uint8_t *fs_store;         /* owned; NULL when empty or in a file */
  uint32_t fs_store_len;
  /* sqn-sim keeps the store's bytes in a file beside the state file
   * (docs/emulator.md): its name (no directory), fs_store then NULL. Empty:
   * the bytes, if any, are in fs_store. */
  char fs_store_file[128];
  char upgrade_status[16];   /* "No report", "on-going", "success", "fail" */
  char fail_reason[96];      /* with "fail" */
  uint64_t writes;           /* flash write counter */
  /* UART rate configured for FFF / UPDATER / RECOVERY; 0 = the profile's
   * rate. Set when an upgrade resets the UART config (UART_RESET fault,
   * F22); in JSON only when non-zero. */
  uint32_t uart_baud;
  /* F20: part 1 of a two-part package was applied and part 2 was not yet.
   * The fff slot holds the intermediate image, which boots only in the
   * power session that applied part 1 (docs/emulator.md section 5,
   * "Two-part packages"). In JSON only when true. */
  bool part2_pending;
};

/* In sim_model (sim/src/model/state.c). A factory-new modem of the
 * profile. */
void sim_state_factory(struct sim_state *st, enum sim_profile profile);
/* Deep copy / release (fs_store). */
int sim_state_copy(struct sim_state *dst, const struct sim_state *src);
void sim_state_release(struct sim_state *st);

#ifdef __cplusplus
}
#endif
#endif /* SIM_STATE_H */
