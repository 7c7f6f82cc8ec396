/** Replaces the section of `group` in the text of RESULTS.md (or appends it), keeping the rest. */
export function replaceSection(text: string, group: string, section: string): string;
