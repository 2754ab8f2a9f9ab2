/** GET over real HTTP with fetch; the body parsed as JSON when it is JSON, else kept as text. */
export interface Answer {
  status: number;
  header(name: string): string | null;
  body: unknown;
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, header: (name) => res.headers.get(name), body };
}

export const bearer = (jwt: string): Record<string, string> => ({ authorization: `Bearer ${jwt}` });
