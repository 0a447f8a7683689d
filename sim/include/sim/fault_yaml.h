/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault files, in YAML (docs/faults.md): part of the sim_files library
 * (libcyaml), not of the model, which takes faults as struct sim_fault
 * (sim_modem_add_fault).
 */
#ifndef SIM_FAULT_YAML_H
#define SIM_FAULT_YAML_H

#include <stddef.h>

#include <cyaml/cyaml.h>

#include "sim/fault.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The libcyaml schema of ONE fault (a mapping with the keys name, when,
 * match, first, last, op, mode, offset, percent, size, after_us, do, text,
 * delay_us, count; all optional except `when` and `do`). Scenario files embed
 * it, e.g. as a sequence field:
 *
 *   CYAML_FIELD_SEQUENCE("faults", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
 *                        struct my_scenario, faults,
 *                        &sim_fault_yaml_schema, 0, CYAML_UNLIMITED)
 *
 * Absent optional keys are zero; zero means "any mode" for `mode`, whose
 * YAML values are the words any, ffh, ffh-elf, fff, updater, recovery.
 */
extern const cyaml_schema_value_t sim_fault_yaml_schema;
/* The mapping fields of that schema (NULL-key terminated). */
extern const cyaml_schema_field_t sim_fault_yaml_fields[];


/*
 * Load a YAML file holding a sequence of faults into `faults` (at most
 * `max`). Returns the number loaded, or -1 with a message in `err` naming
 * the file (and line where libcyaml reports one) on any error, including
 * more than `max` faults.
 */
int sim_faults_load_yaml(const char *path, struct sim_fault *faults,
                         size_t max, char *err, size_t errcap);

#ifdef __cplusplus
}
#endif

#endif /* SIM_FAULT_YAML_H */
