/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The modem's deep states (fuzz_duel.h): a real updater drives a valid
 * package through the model while the fuzzer chooses byte timing,
 * chunking, faults and power cuts, so upgrades complete, commit and boot.
 * After every step: the mode is in range, the next deadline is not in the
 * past, and the flash serialises to JSON that loads back identically.
 * SQN_DUEL_STATS=1 prints how many executions end with the modem running
 * the new firmware.
 */
#include "fuzz_duel.h"
#include "sim/state_file.h"

static void duel_check(struct duel *d)
{
  enum sim_smod s = sim_modem_smod(d->m);
  if (s < SIM_SMOD_NONE || s > SIM_SMOD_RECOVERY)
    abort();
  if (sim_modem_next_deadline(d->m) < d->now_us) {
    fprintf(stderr, "duel: modem deadline %llu us is before now %llu us\n",
            (unsigned long long)sim_modem_next_deadline(d->m),
            (unsigned long long)d->now_us);
    abort();
  }
  const struct sim_state *st = sim_modem_state(d->m);
  char *text = sim_state_to_json(st);
  if (!text)
    abort();
  struct sim_state back;
  char err[256];
  if (sim_state_from_json(&back, text, err, sizeof(err))) {
    fprintf(stderr, "state does not reload: %s\n%s\n", err, text);
    abort();
  }
  char *again = sim_state_to_json(&back);
  if (!again || strcmp(again, text))
    abort();
  free(again);
  free(text);
  sim_state_release(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  duel_run(data, size);
  return 0;
}
