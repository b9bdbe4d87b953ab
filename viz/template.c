/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * template.c - the page template (viz/timeline.html) embedded in the
 * plugin, so the .so is all a user needs.  The template is split at the
 * line holding the data marker; out_html.c writes the trace data there.
 */
#include <stddef.h>

/* .incbin reads the file at assembly time (make runs from the repository
 * root; viz/module.mk lists the template as a prerequisite). */
__asm__(".section .rodata\n"
	".balign 16\n"
	".hidden viz_template\n"
	".globl viz_template\n"
	"viz_template:\n"
	".incbin \"viz/timeline.html\"\n"
	".byte 0\n"
	".previous\n");
