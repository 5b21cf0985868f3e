/** Stands in for a library such as the AI SDK: it calls whatever the global `fetch` is when it runs. */
export async function callModel(url: string): Promise<unknown> {
  const response = await fetch(`${url}/ping`);
  return response.json();
}
