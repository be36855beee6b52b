/** What a rule reports, before the catalogue gives it a severity and a message (lint.ts). */
export interface Finding {
  rule: string;
  file: string;
  line: number;
  column: number;
  /** what the rule found (a name, a value) */
  detail?: string;
}
