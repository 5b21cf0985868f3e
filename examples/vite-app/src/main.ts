/** The page: a button that starts an order and a list that follows it live. */
const button = document.querySelector<HTMLButtonElement>("#place")!;
const log = document.querySelector<HTMLOListElement>("#log")!;

function line(text: string): void {
  const li = document.createElement("li");
  li.textContent = text;
  log.append(li);
}

button.addEventListener("click", async () => {
  button.disabled = true;
  log.replaceChildren();
  const { runId, orderId } = (await (await fetch("/api/orders", { method: "POST" })).json()) as {
    runId: string;
    orderId: string;
  };
  line(`order ${orderId} started as run ${runId}`);
  const events = new EventSource(`/api/orders/${encodeURIComponent(runId)}/events`);
  events.addEventListener("progress", (e) => {
    const { step, message } = JSON.parse((e as MessageEvent<string>).data) as {
      step: string;
      message: string;
    };
    line(`${step}: ${message}`);
  });
  const finish = (text: string) => {
    line(text);
    events.close();
    button.disabled = false;
  };
  events.addEventListener("done", (e) => finish(`done: ${(e as MessageEvent<string>).data}`));
  events.addEventListener("failed", (e) => finish(`failed: ${(e as MessageEvent<string>).data}`));
});
