"use client";
import { useState } from "react";

interface UploadState {
  pending: boolean;
  error: string | null;
  count: number;
}

/** Uploads files to a container through the upload route (multipart), reporting a clear error. */
export function useUpload(containerId: string, onDone: () => void) {
  const [state, setState] = useState<UploadState>({ pending: false, error: null, count: 0 });

  async function upload(files: File[]) {
    if (!files.length) return;
    setState({ pending: true, error: null, count: files.length });
    const form = new FormData();
    for (const file of files) form.append("file", file, file.name);
    try {
      const response = await fetch(`/api/containers/${containerId}/files`, { method: "POST", body: form });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `Upload failed (${response.status}).`);
      }
      setState({ pending: false, error: null, count: 0 });
    } catch (error) {
      setState({ pending: false, error: error instanceof Error ? error.message : "Upload failed.", count: 0 });
    } finally {
      onDone();
    }
  }

  return { ...state, upload };
}
