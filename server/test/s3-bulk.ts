/**
 * Many objects in an s3rver bucket fast: s3rver keeps each object as three files on disk
 * (`<name>._S3rver_object`, its `.md5` and `<name>._S3rver_metadata.json`), so copies of one stored object
 * are hard links to its files. 100,000 objects take seconds instead of the minutes 100,000 PUTs would.
 */
import fs from "node:fs";
import path from "node:path";

function resourcePaths(directory: string, bucket: string, key: string) {
  const parts = key.split("/");
  const name = parts.pop()!;
  const dir = path.join(directory, bucket, ...parts);
  return {
    dir,
    object: path.join(dir, `${name}._S3rver_object`),
    md5: path.join(dir, `${name}._S3rver_object.md5`),
    metadata: path.join(dir, `${name}._S3rver_metadata.json`),
  };
}

/** Makes each of `keys` a copy of the stored object `templateKey` (same body, same ETag). */
export function linkObjects(directory: string, bucket: string, templateKey: string, keys: string[]) {
  const template = resourcePaths(directory, bucket, templateKey);
  if (!fs.existsSync(template.object)) throw new Error(`${templateKey} is not stored in ${bucket}: PUT it first.`);
  const made = new Set<string>();
  let source = template;
  for (const [i, key] of keys.entries()) {
    const target = resourcePaths(directory, bucket, key);
    if (!made.has(target.dir)) {
      fs.mkdirSync(target.dir, { recursive: true });
      made.add(target.dir);
    }
    // A file system allows so many links to one file (65,000 on ext4): every 50,000 copies start from a fresh copy.
    const copy = i % 50_000 === 0 ? fs.copyFileSync : fs.linkSync;
    copy(source.object, target.object);
    copy(source.md5, target.md5);
    copy(source.metadata, target.metadata);
    if (i % 50_000 === 0) source = target;
  }
}
