import { createWebhook, getWorkflowMetadata, getWritable, sleep } from "workflow";

export interface User {
  id: string;
  email: string;
  name: string;
}

/** A line on the page: every step writes one to the run's durable stream. */
export interface SignupEvent {
  step: string;
  message: string;
  /** The confirmation link of the welcome email (the page shows it as a button). */
  confirmUrl?: string;
}

export interface SignupResult {
  userId: string;
  email: string;
  confirmedWith: string;
  followUp: string;
  /** `getWorkflowMetadata().url`: the app's own URL, as the Next server announced it. */
  appUrl: string;
}

async function report(event: SignupEvent): Promise<void> {
  const writer = getWritable<SignupEvent>().getWriter();
  try {
    await writer.write(event);
  } finally {
    writer.releaseLock();
  }
}

async function createUser(email: string): Promise<User> {
  "use step";
  const name = email.split("@")[0] ?? email;
  const user = { id: `usr_${Math.random().toString(36).slice(2, 10)}`, email, name };
  await report({ step: "createUser", message: `created ${user.id} for ${email}` });
  return user;
}

async function sendWelcomeEmail(user: User, confirmUrl: string): Promise<void> {
  "use step";
  // A real app calls its email provider here; the demo "sends" it to the page.
  await report({ step: "sendWelcomeEmail", message: `welcome email sent to ${user.email}`, confirmUrl });
}

async function sendFollowUp(user: User): Promise<string> {
  "use step";
  const text = `Welcome aboard, ${user.name}! Here are three tips to get started.`;
  await report({ step: "sendFollowUp", message: text });
  return text;
}

/** Ends the progress stream, so the page's reader finishes as soon as the signup does. */
async function closeProgress(): Promise<void> {
  "use step";
  await getWritable<SignupEvent>().close();
}

/** Create the user, email a confirmation link, wait for the click (durably), then follow up. */
export async function signup(email: string): Promise<SignupResult> {
  "use workflow";
  const user = await createUser(email);
  // The link answers 202 Accepted as soon as the click is recorded.
  const confirmation = createWebhook();
  await sendWelcomeEmail(user, confirmation.url);
  // Let the email arrive before waiting on the link; like every wait here, it survives a restart.
  await sleep("1s");
  const click = await confirmation;
  const followUp = await sendFollowUp(user);
  await closeProgress();
  return {
    userId: user.id,
    email: user.email,
    confirmedWith: click.method,
    followUp,
    appUrl: getWorkflowMetadata().url,
  };
}
