/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem's flash in memory (modem-model.md section 2): the factory
 * state, deep copy and release. Its JSON form and the state file are in
 * the sim_files library (sim/src/files/state_file.c).
 */
#include "sim/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sim_state_image_set(struct sim_image *img, bool valid,
                                const char *version, uint32_t build,
                                const char *ue)
{
  img->valid = valid;
  snprintf(img->version, sizeof(img->version), "%s", version);
  img->build = build;
  snprintf(img->ue, sizeof(img->ue), "%s", ue);
}

void sim_state_factory(struct sim_state *st, enum sim_profile profile)
{
  memset(st, 0, sizeof(*st));
  st->profile = profile;
  st->boot_select = SIM_BOOT_FFF;
  if (profile == SIM_PROFILE_GM02S) {
    sim_state_image_set(&st->fff, true, "8.2.0.3", 60186, "8.0.5.12");
    sim_state_image_set(&st->updater, true, "8.2.0.3", 60186, "");
    sim_state_image_set(&st->bootrom, true, "8.2.0.3", 60186, "");
  } else {
    /* An early SQN3330 as shipped: everything at the 33080 factory build. */
    sim_state_image_set(&st->fff, true, "5.1.1.0", 33080, "5.0.0.0c");
    sim_state_image_set(&st->updater, true, "5.1.1.0", 33080, "");
    sim_state_image_set(&st->bootrom, true, "5.1.1.0", 33080, "");
  }
  snprintf(st->upgrade_status, sizeof(st->upgrade_status), "No report");
}

int sim_state_copy(struct sim_state *dst, const struct sim_state *src)
{
  uint8_t *store = NULL;
  if (src->fs_store && src->fs_store_len) {
    store = malloc(src->fs_store_len);
    if (!store)
      return -1;
    memcpy(store, src->fs_store, src->fs_store_len);
  }
  *dst = *src;
  dst->fs_store = store;
  if (!store && !src->fs_store_file[0])
    dst->fs_store_len = 0;
  return 0;
}

void sim_state_release(struct sim_state *st)
{
  free(st->fs_store);
  st->fs_store = NULL;
  st->fs_store_len = 0;
  st->fs_store_file[0] = '\0';
}
