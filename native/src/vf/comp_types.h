/* SPDX-License-Identifier: BSD-3-Clause
 *
 * comp_types.h - the component types of spp_vf, one file each:
 *   forward: 1 rx port to 1 tx port, in secondary/comp_forward.c (shared
 *                      with spp_nfv)
 *   comp_merge.c       merge: N rx ports to 1 tx port
 *   comp_classifier.c  classifier: 1 rx port to N tx ports by destination
 *                      MAC and VLAN (its table: classifier.[ch])
 */
#ifndef SPP_VF_COMP_TYPES_H
#define SPP_VF_COMP_TYPES_H

#include "secondary/component.h"

extern const struct comp_ops comp_merge_ops;
extern const struct comp_ops comp_classifier_ops;

#endif /* SPP_VF_COMP_TYPES_H */
