// Text classification where word order decides: short sentences in which a cat and a dog meet, and the label says who
// chased whom. Both labels use exactly the same words, so a model that sees which words occur but not their order (a
// bag of words into an MLP) cannot do better than a coin; Embedding -> LSTM -> Dense reads the order.
using System;
using System.Collections.Generic;
using System.CommandLine;
using Backprop;

var epochs = new Option<int>("--epochs") { Description = "Training epochs of each model.", DefaultValueFactory = _ => 15 };
var seed = new Option<int>("--seed") { Description = "Seed of the sentences, the initialization and the shuffling.", DefaultValueFactory = _ => 1 };
var command = new RootCommand("Classify generated sentences by word order: an Embedding-LSTM against an order-blind bag of words.") { epochs, seed };
command.SetAction(parsed => Run(parsed.GetValue(epochs), parsed.GetValue(seed)));
return command.Parse(args).Invoke();

static int Run(int epochs, int seed)
{
    var random = new Random(seed);
    var (trainIds, trainLabels, trainText) = Sentences(4000, random);
    var (testIds, testLabels, _) = Sentences(1000, random);
    Console.WriteLine($"{Vocabulary.Length} words, sentences of up to {SentenceLstm.Steps} tokens; for example:");
    for (int i = 0; i < 3; i++)
    {
        Console.WriteLine($"  \"{trainText[i]}\" -> {(trainLabels[i] == 1 ? "the cat chased" : "the dog chased")}");
    }

    // The order-blind baseline: how often each word occurs.
    float[] trainBag = Bag(trainIds), testBag = Bag(testIds);
    var bag = new BagOfWords(maxBatch: 1000, seed);
    var lstm = new SentenceLstm(maxBatch: 1000, seed);
    foreach (var (name, net, train, test) in new (string, INetwork, float[], float[])[]
    {
        ("bag of words -> MLP", bag, trainBag, testBag),
        ("Embedding -> LSTM", lstm, trainIds, testIds),
    })
    {
        var optimizer = new Adam(3e-3f) { MaxGradientNorm = 5f };
        var shuffle = new Random(seed);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            Trainer.TrainEpoch(net, train, trainLabels, optimizer, batchSize: 32, shuffle);
        }
        Console.WriteLine($"{name,-20} test accuracy {Trainer.Accuracy(net, test, testLabels):P1}");
    }
    return 0;
}

// One sentence per sample: fillers, "the cat", "chased", "the dog" (or the two animals swapped), fillers, padding.
static (float[] Ids, int[] Labels, string[] Text) Sentences(int count, Random random)
{
    var ids = new float[count * SentenceLstm.Steps];
    var labels = new int[count];
    var text = new string[count];
    var words = new List<int>();
    for (int s = 0; s < count; s++)
    {
        int label = random.Next(2);
        int subject = label == 1 ? Word("cat") : Word("dog"), victim = label == 1 ? Word("dog") : Word("cat");
        words.Clear();
        void Fillers(int most)
        {
            for (int i = random.Next(most + 1); i > 0; i--)
            {
                words.Add(Filler + random.Next(Vocabulary.Length - Filler));
            }
        }
        Fillers(2);
        words.Add(Word("the"));
        words.Add(subject);
        Fillers(1);
        words.Add(Word("chased"));
        words.Add(Word("the"));
        Fillers(1);
        words.Add(victim);
        Fillers(2);
        for (int t = 0; t < SentenceLstm.Steps; t++)
        {
            ids[s * SentenceLstm.Steps + t] = t < words.Count ? words[t] : 0;   // 0 pads
        }
        labels[s] = label;
        text[s] = string.Join(' ', words.ConvertAll(w => Vocabulary[w]));
    }
    return (ids, labels, text);
}

static float[] Bag(float[] ids)
{
    int count = ids.Length / SentenceLstm.Steps;
    var bag = new float[count * Vocabulary.Length];
    for (int i = 0; i < ids.Length; i++)
    {
        bag[i / SentenceLstm.Steps * Vocabulary.Length + (int)ids[i]] += 1;
    }
    return bag;
}

static int Word(string word) => Array.IndexOf(Vocabulary, word);

/// <summary>The words: padding, the sentence's frame, then fillers.</summary>
internal static partial class Program
{
    public static readonly string[] Vocabulary =
        ["<pad>", "the", "cat", "dog", "chased", "quickly", "suddenly", "big", "small", "old", "young", "angry", "happy", "loudly", "then", "really"];

    /// <summary>The first filler word.</summary>
    public const int Filler = 5;
}

/// <summary>Token ids through an embedding and an LSTM; the last hidden state into two classes.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(SentenceLstm.Steps)]
[Embedding(16, 8)]
[Lstm(32)]
[Dense(2)]
public partial class SentenceLstm
{
    /// <summary>Tokens per sentence, padded.</summary>
    public const int Steps = 14;
}

/// <summary>The order-blind baseline: word counts into an MLP.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(16)]
[Dense(32, Activation = Activation.Relu)]
[Dense(2)]
public partial class BagOfWords;
