// The family's microphone, for captions: downsampled in the audio thread to 16 kHz
// mono 16-bit and handed over in 40 ms frames (the recogniser's format). The
// browser has already cancelled echo and suppressed noise on this track.

const RATE = 16000;
const FRAME = 640; // 40 ms

class Downsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / RATE;
    this.at = 0;
    this.sum = 0;
    this.count = 0;
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
  }

  /** @param {Float32Array[][]} inputs */
  process(inputs) {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    // An average over each output sample's span: a box filter, enough for speech.
    for (let i = 0; i < channel.length; i++) {
      this.sum += channel[i];
      this.count++;
      this.at += 1;
      if (this.at >= this.step) {
        this.at -= this.step;
        const v = Math.max(-1, Math.min(1, this.sum / this.count));
        this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
        this.sum = 0;
        this.count = 0;
        if (this.filled === FRAME) {
          this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
          this.frame = new Int16Array(FRAME);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("menkai-downsampler", Downsampler);
