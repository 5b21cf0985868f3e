/** A serializable class with a "use step" instance method: the step runs with `this` set to the instance. */
export class Counter {
  constructor(readonly start: number) {}

  static [Symbol.for("workflow-serialize")](c: Counter) {
    return { start: c.start };
  }

  static [Symbol.for("workflow-deserialize")](d: { start: number }) {
    return new Counter(d.start);
  }

  async add(n: number) {
    "use step";
    return { total: this.start + n, isCounter: this instanceof Counter };
  }
}
