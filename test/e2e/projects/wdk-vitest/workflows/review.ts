import { createHook, sleep } from "workflow";

/** Waits for a reviewer's verdict, then (when accepted) a cooling-off day before it publishes. */
export async function reviewArticle(slug: string) {
  "use workflow";
  const draft = await loadDraft(slug);
  using verdict = createHook<{ accepted: boolean; by: string }>({ token: `review:${slug}` });
  const { accepted, by } = await verdict;
  if (!accepted) return { slug, state: "returned", by };
  await sleep("1d");
  await sleep("2h");
  return { slug, state: await publish(draft), by };
}

async function loadDraft(slug: string) {
  "use step";
  return { slug, words: slug.length * 100 };
}

async function publish(draft: { slug: string; words: number }) {
  "use step";
  return `published ${draft.words} words`;
}

export async function explode() {
  "use workflow";
  await loadDraft("x");
  throw new Error("review system offline");
}
