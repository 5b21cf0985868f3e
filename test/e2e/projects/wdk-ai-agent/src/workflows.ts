/**
 * A WDK agent written as `@workflow/ai`'s documentation writes one: a `DurableAgent` whose tools are steps, a mock
 * model from `@workflow/ai/test` that first calls the tools and then answers, and the UI chunks streamed to the
 * run's `getWritable()`.
 */
import { appendFileSync, existsSync } from "node:fs";
import { DurableAgent } from "@workflow/ai/agent";
import { mockSequenceModel } from "@workflow/ai/test";
import type { UIMessageChunk } from "ai";
import { defineHook, fetch, getStepMetadata, getWritable, sleep } from "workflow";
import { z } from "zod";

async function getWeather(
  { city }: { city: string },
  { toolCallId }: { toolCallId: string },
): Promise<string> {
  "use step";
  appendFileSync(process.env.AGENT_LEDGER!, `getWeather:${city}:${getStepMetadata().attempt}\n`);
  console.log(`TOOL_STARTED getWeather ${city}`);
  // The crash test kills the process while this waits; the next process's attempt finds the release file.
  const release = process.env.AGENT_RELEASE;
  while (release && !existsSync(release)) await new Promise((resolve) => setTimeout(resolve, 20));
  // The docs' "streaming updates from tools": a data part on the run's stream, tied to the tool call.
  const writer = getWritable<UIMessageChunk>().getWriter();
  await writer.write({
    type: "data-weather-progress",
    id: `${toolCallId}-progress`,
    data: { city, status: "done" },
  });
  writer.releaseLock();
  return `Weather in ${city} is sunny`;
}

async function convert({ celsius }: { celsius: number }): Promise<{ fahrenheit: number }> {
  "use step";
  appendFileSync(process.env.AGENT_LEDGER!, `convert:${celsius}\n`);
  return { fahrenheit: (celsius * 9) / 5 + 32 };
}

export async function weatherAgent(question: string) {
  "use workflow";
  // The documented pattern that lets the AI SDK's own fetch calls run as steps.
  globalThis.fetch = fetch;

  const agent = new DurableAgent({
    model: mockSequenceModel([
      { type: "tool-call", toolName: "getWeather", input: JSON.stringify({ city: "Paris" }) },
      { type: "tool-call", toolName: "convert", input: JSON.stringify({ celsius: 20 }) },
      { type: "text", text: "Paris is sunny, 68°F." },
    ]),
    instructions: "You are a helpful weather assistant.",
    tools: {
      getWeather: {
        description: "Get the weather for a city",
        inputSchema: z.object({ city: z.string() }),
        execute: getWeather,
      },
      convert: {
        description: "Celsius to Fahrenheit",
        inputSchema: z.object({ celsius: z.number() }),
        execute: convert,
      },
    },
  });

  const writable = getWritable<UIMessageChunk>();
  const result = await agent.stream({
    messages: [{ role: "user", content: question }],
    writable,
  });
  return {
    steps: result.steps.length,
    text: result.steps.at(-1)?.text,
    roles: result.messages.map((m) => m.role),
  };
}

/** The documented human-in-the-loop tool: no "use step", so it runs in the workflow and can await a hook. */
export const bookingApprovalHook = defineHook({
  schema: z.object({ approved: z.boolean(), comment: z.string().optional() }),
});

async function executeBookingApproval(
  { flightNumber, passengerName }: { flightNumber: string; passengerName: string },
  { toolCallId }: { toolCallId: string },
) {
  const hook = bookingApprovalHook.create({ token: toolCallId });
  const { approved, comment } = await hook;
  if (!approved) return `Booking rejected: ${comment ?? "no reason"}`;
  return `Booking approved for ${passengerName} on flight ${flightNumber}${comment ? ` - ${comment}` : ""}`;
}

/** A workflow-level tool that waits durably (the docs' sleep-and-delays pattern). */
async function waitBeforeBooking({ seconds }: { seconds: number }) {
  await sleep(seconds * 1000);
  return `waited ${seconds}s`;
}

export async function bookingAgent(question: string) {
  "use workflow";
  const agent = new DurableAgent({
    model: mockSequenceModel([
      { type: "tool-call", toolName: "waitBeforeBooking", input: JSON.stringify({ seconds: 1 }) },
      {
        type: "tool-call",
        toolName: "bookingApproval",
        input: JSON.stringify({ flightNumber: "AF12", passengerName: "Ada" }),
      },
      { type: "text", text: "Your flight is booked." },
    ]),
    tools: {
      waitBeforeBooking: {
        description: "Wait before booking",
        inputSchema: z.object({ seconds: z.number() }),
        execute: waitBeforeBooking,
      },
      bookingApproval: {
        description: "Ask a human to approve the booking",
        inputSchema: z.object({ flightNumber: z.string(), passengerName: z.string() }),
        execute: executeBookingApproval,
      },
    },
  });
  const result = await agent.stream({
    messages: [{ role: "user", content: question }],
    writable: getWritable(),
  });
  return { steps: result.steps.length, text: result.steps.at(-1)?.text };
}
