/**
 * Formats of the exports this tab started, for "My exports" (the job document names its format
 * only once there is a file). Kept in session storage; forgotten on sign-out, as it belongs to
 * the user who asked.
 */
const FORMATS_KEY = 'takeout.formats';

export function rememberFormat(id: string, format: string): void {
  try {
    const known = JSON.parse(sessionStorage.getItem(FORMATS_KEY) ?? '{}') as Record<string, string>;
    known[id] = format;
    sessionStorage.setItem(FORMATS_KEY, JSON.stringify(known));
  } catch {
    // Storage disabled: the list shows the format once the file exists.
  }
}

export function rememberedFormat(id: string): string | undefined {
  try {
    return (JSON.parse(sessionStorage.getItem(FORMATS_KEY) ?? '{}') as Record<string, string>)[id];
  } catch {
    return undefined;
  }
}

export function forgetFormats(): void {
  try {
    sessionStorage.removeItem(FORMATS_KEY);
  } catch {
    // Storage disabled: nothing was kept.
  }
}
