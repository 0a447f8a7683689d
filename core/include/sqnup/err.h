/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsqnup error codes of the update procedure and everything it drives
 * (AT client, STP master, POSIX port): one X-macro table, one numeric space
 * (-100 .. -199), fixed numbers (never -errno, since MCU libcs disagree on
 * errno values).
 *
 * Two other public headers have error spaces of their own, each with its own
 * strerror: the CABA walker (sqnup/caba.h, SQN_CABA_E_*, -1 .. -18) and the
 * package builder (sqnup/pkg.h, SQN_PKG_E_*, -1 .. -8). Their values overlap
 * each other's and are never passed where an SQN_E_* is expected: the update
 * procedure maps a CABA error to E_IMAGE_TRUNCATED / E_IMAGE_INVALID and
 * names the CABA text in the detail.
 *
 * Each row: name, value, exit-code class of sqn-update, whether it is safe to
 * remove power from the modem when the run stops with this error, what to do
 * next (machine-readable), a one-line explanation and one line of advice.
 *
 * "Safe to remove power" is per error, not per phase of the run: an error
 * that stops the updater while the modem may still be writing its flash
 * (E_COMMIT_TIMEOUT) says no, everything else leaves the modem in a state a
 * rerun handles (application, RECOVERY with the updater intact, or FFH).
 */
#ifndef SQNUP_ERR_H
#define SQNUP_ERR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of sqn-update, one per class (0 is a verified upgrade). */
#define SQN_EXIT_MAP(XX)                                                      \
  XX(OK, 0, "upgrade verified (or --info printed)")                          \
  XX(USAGE, 2, "bad command line")                                            \
  XX(INPUT, 3, "package or updater file missing, truncated or invalid")       \
  XX(PORT, 4, "serial port cannot be opened or configured")                   \
  XX(NOT_DETECTED, 5, "modem not answering (power-cycle it)")                 \
  XX(REFUSED, 6, "refused before any write: chip, family, downgrade, "       \
     "unknown mode, updater.elf")                                              \
  XX(MODEM_REFUSED, 7, "modem refused to enter upgrade or transfer mode")     \
  XX(TRANSFER, 8, "transfer failed (STP); rerun")                             \
  XX(REJECTED, 9, "modem rejected the package or runs the wrong version")     \
  XX(COMMIT, 10, "modem did not finish applying: do NOT cut power")          \
  XX(INTERNAL, 11, "internal or I/O error")                                   \
  XX(PART2_PENDING, 12, "part 1 of a two-part package applied: apply part 2 " \
     "now, without a power cycle")                                            \
  XX(PORT_BUSY, 13, "serial port in use by another program; nothing sent")   \
  XX(INTERRUPTED, 130, "stopped by Ctrl-C or SIGTERM")

enum sqn_exit {
#define XX(name, val, text) SQN_EXIT_##name = (val),
  SQN_EXIT_MAP(XX)
#undef XX
};

/* What the user should do next. */
#define SQN_NEXT_MAP(XX)                                                      \
  XX(NONE, "nothing")                                                         \
  XX(FIX_INPUT, "fix the command line or the file")                          \
  XX(RERUN, "rerun sqn-update")                                               \
  XX(POWER_CYCLE, "power-cycle the modem (remove battery/USB), then rerun")   \
  XX(SUPPLY_UPDATER, "rerun with --updater updater.elf and a full package")   \
  XX(FORCE, "rerun with --force if this is intended")                        \
  XX(WAIT, "wait; do not cut power; rerun after the modem answers")          \
  XX(APPLY_PART2, "run sqn-update with part 2 now; do not power-cycle first") \
  XX(FREE_PORT, "close the other program on the port, then rerun")

enum sqn_next {
#define XX(name, text) SQN_NEXT_##name,
  SQN_NEXT_MAP(XX)
#undef XX
};

/* XX(name, value, exit class, power_safe, next, explanation, advice) */
#define SQN_ERR_MAP(XX)                                                        \
  XX(BAD_ARGUMENTS, -100, USAGE, true, FIX_INPUT,                              \
     "bad arguments or configuration",                                         \
     "check the command line (see --help)")                                    \
  XX(STATE, -101, INTERNAL, true, RERUN,                                       \
     "call not allowed in the current state", "report this as a bug")          \
  XX(IO, -102, INTERNAL, true, RERUN,                                          \
     "writing to or reading from the port or file failed",                     \
     "check the cable and the port, then rerun")                               \
  XX(PORT, -103, PORT, true, FIX_INPUT,                                        \
     "the serial port does not exist, is not a tty or cannot be configured",   \
     "check --port and permissions")                                           \
  XX(ABORTED, -104, INTERRUPTED, true, RERUN, "stopped by the user",          \
     "rerun sqn-update; the modem state is re-detected")                       \
  XX(PORT_BUSY, -105, PORT_BUSY, true, FREE_PORT,                              \
     "the serial port is in use by another program (lock file, flock or "      \
     "exclusive mode); nothing was sent",                                      \
     "close the other program (ModemManager, a terminal, another sqn-update) " \
     "or stop it from probing the port, then rerun")                           \
  XX(IMAGE_NOT_FOUND, -110, INPUT, true, FIX_INPUT,                            \
     "the package file cannot be read", "check the package path")              \
  XX(IMAGE_TRUNCATED, -111, INPUT, true, FIX_INPUT,                            \
     "the package is shorter than 128 bytes or ends inside a record",          \
     "download the package again")                                             \
  XX(IMAGE_INVALID, -112, INPUT, true, FIX_INPUT,                              \
     "the package is not a valid .dup (bad record, size or signature)",        \
     "download the package again; the error names the record and offset")      \
  XX(UPDATER_INVALID, -113, INPUT, true, FIX_INPUT,                            \
     "the updater file is not an ELF image", "supply the updater.elf "         \
     "that belongs to the package")                                            \
  XX(IMAGE_FAMILY_MISMATCH, -114, REFUSED, true, FORCE,                        \
     "the package is for another firmware family than the modem runs",         \
     "use a package of the modem's family (LR5/LR6/LR8) or --force")           \
  XX(DOWNGRADE_REFUSED, -115, REFUSED, true, FORCE,                            \
     "the package is older than the firmware on the modem",                    \
     "rerun with --force to downgrade on purpose")                             \
  XX(RECOVERY_NEEDS_UPDATER_AND_FULL_IMAGE, -116, REFUSED, true,               \
     SUPPLY_UPDATER,                                                           \
     "the modem is in its FFH bootloader (SMOD 0) and needs updater.elf",      \
     "rerun with --updater updater.elf and a full package (no delta)")         \
  XX(BOOTROM_TOO_OLD, -117, REFUSED, true, FIX_INPUT,                          \
     "the modem has the factory bootrom [33080] and the package carries no "   \
     "bootrom record to refresh it",                                           \
     "use a full package that bundles the recovery bootrom (or --force)")      \
  XX(PARTS_MISMATCH, -109, INPUT, true, FIX_INPUT,                             \
     "the two packages are not part 1 and part 2 of one two-part package "     \
     "(tags, order, family or part 2's base version)",                         \
     "give part 1 then part 2 of the same package: sqn-update --port P "       \
     "PART1 PART2")                                                            \
  XX(PART2_MISSING, -118, REFUSED, true, FIX_INPUT,                            \
     "the package is part 1 of a two-part package and part 2 was not given; "  \
     "part 1 alone leaves an intermediate image that dies at the next power "  \
     "cycle (faults.md F20)",                                                  \
     "give both parts, in order: sqn-update --port P PART1 PART2 (--force "    \
     "applies part 1 alone)")                                                  \
  XX(PART1_MISSING, -119, REFUSED, true, FIX_INPUT,                            \
     "the package is part 2 of a two-part package and the modem does not "     \
     "report the intermediate version part 1 leaves",                          \
     "give both parts, in order: sqn-update --port P PART1 PART2 (or --force " \
     "if part 1 was applied in this power session)")                           \
  XX(MODEM_NOT_DETECTED, -120, NOT_DETECTED, true, POWER_CYCLE,                \
     "no modem answered AT at any rate",                                       \
     "do a full power cycle (remove battery/USB; a reset is not enough), "     \
     "then rerun")                                                             \
  XX(DATA_MODE_STUCK, -121, NOT_DETECTED, true, POWER_CYCLE,                   \
     "the modem stays in data mode and ignores the +++ escape",                \
     "power-cycle the modem, then rerun")                                      \
  XX(MODEM_UNSTABLE, -122, NOT_DETECTED, true, POWER_CYCLE,                    \
     "the modem keeps rebooting on its own",                                   \
     "check the power supply, power-cycle, then rerun")                        \
  XX(NO_RESPONSE_AFTER_MODE_SWITCH, -123, NOT_DETECTED, true, POWER_CYCLE,     \
     "the modem did not answer after switching boot mode",                     \
     "power-cycle the board, then rerun (with --updater updater.elf and a "    \
     "full package if it comes up in SMOD 0)")                                 \
  XX(CHIP_MISMATCH, -125, REFUSED, true, FORCE,                                \
     "the package is for the other Sequans chip than the modem (LR5/LR6: "     \
     "Monarch 1, LR8: Monarch 2); such an image is written but never boots",   \
     "use a package for the modem's chip (--force writes it anyway)")          \
  XX(MODEM_STATE_UNKNOWN, -124, REFUSED, true, FORCE,                          \
     "the modem's mode or version could not be read, so the family, chip and " \
     "downgrade checks cannot run; nothing was written",                       \
     "rerun (a late or garbled reply is the usual cause); --force writes "     \
     "without the checks")                                                     \
  XX(ENTER_UPGRADE_REFUSED, -130, MODEM_REFUSED, true, RERUN,                  \
     "the modem refused AT+SMSWBOOT=3,x (enter recovery)",                     \
     "rerun; if it persists power-cycle first")                                \
  XX(STP_START_REFUSED, -131, MODEM_REFUSED, true, RERUN,                      \
     "the modem refused to start the transfer (AT+SMSTPU / AT+STP)",           \
     "rerun; the error names the modem's mode")                                \
  XX(SELECT_FFF_REFUSED, -132, MODEM_REFUSED, true, RERUN,                     \
     "the modem refused AT+SMSWBOOT=1,x (boot the new firmware)",              \
     "rerun; the package is already written")                                  \
  XX(STP_PROTOCOL, -140, TRANSFER, true, RERUN,                                \
     "the transfer failed: corrupted or missing STP responses",                \
     "rerun (with --rtscts if the link drops bytes)")                          \
  XX(TRANSFER_STALLED, -141, TRANSFER, true, RERUN,                            \
     "the modem stopped accepting data", "rerun; power-cycle if it "          \
     "persists")                                                               \
  XX(IMAGE_CRC, -142, TRANSFER, true, RERUN,                                   \
     "the copy the modem stored differs from the package (CRC mismatch at "    \
     "apply time), also after one retry",                                      \
     "rerun; check the cable (--rtscts) if it persists")                      \
  XX(UPGRADE_REJECTED, -150, REJECTED, true, RERUN,                            \
     "the modem rejected the package after the transfer",                      \
     "check the package (the modem's reason is shown) and rerun")             \
  XX(VERIFY_MISMATCH, -151, REJECTED, true, RERUN,                             \
     "the modem does not run the package's version after the upgrade",         \
     "rerun; the version found is shown")                                      \
  XX(COMMIT_TIMEOUT, -152, COMMIT, false, WAIT,                                \
     "the modem did not come back while applying the package",                 \
     "do NOT cut power yet; wait, then power-cycle and rerun if it never "     \
     "answers")                                                                \
  XX(PART2_PENDING, -153, PART2_PENDING, false, APPLY_PART2,                   \
     "part 1 of a two-part package is applied (forced alone); the modem runs " \
     "an intermediate image until part 2 is applied",                          \
     "run sqn-update --force --port P PART2 now, in this power session; a "    \
     "power cycle before part 2 can leave the modem silent")

enum sqn_err {
  SQN_OK = 0,
#define XX(name, val, cls, safe, next, text, advice) SQN_E_##name = (val),
  SQN_ERR_MAP(XX)
#undef XX
};

/* "E_MODEM_NOT_DETECTED"; "OK" for 0; "E_UNKNOWN" for anything else. */
const char *sqn_err_name(int err);
/* One-line explanation; never NULL. */
const char *sqn_strerror(int err);
/* One line of advice (what to do next); never NULL. */
const char *sqn_err_advice(int err);
enum sqn_next sqn_err_next(int err);
const char *sqn_next_text(enum sqn_next next);
/* May power be removed from the modem now that the run stopped with err? */
bool sqn_err_power_safe(int err);
/* Exit code class for the CLI (SQN_EXIT_OK for 0). */
enum sqn_exit sqn_err_exit(int err);
const char *sqn_exit_text(enum sqn_exit code);

#ifdef __cplusplus
}
#endif
#endif /* SQNUP_ERR_H */
