// The AudioWorklet global scope (static/js/captions-worklet.js runs there), which
// TypeScript's DOM library leaves out.
declare var sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor();
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;
