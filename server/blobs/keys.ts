const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]*$/;

/** Keys are Wire's own (containers/<id>/<uuid>); anything else is a bug, refused before any I/O. */
export function assertBlobKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.split("/").includes("..")) throw new Error(`Invalid blob key: ${key}`);
  return key;
}
