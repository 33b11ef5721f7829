// Uses a generated network (so the build fails if the generator did not run) and contains two deliberate
// analyzer warnings (BPG0012 on a declaration, BPG0013 at a call site) that must appear in `dotnet build`.
using System;
using Backprop;

var net = new Classifier(maxBatch: 2);
var scores = new float[Classifier.OutputSize];
net.Predict(new float[Classifier.InputSize], scores);
Console.WriteLine($"Classifier ran: {Classifier.ParameterCount} parameters, {scores.Length} scores.");

if (args.Length > 99)
{
    net.Predict(new float[5], scores); // BPG0013: 5 is not a whole number of 4-value samples
}

/// <summary>A valid network.</summary>
[Network] [Input(4)] [Dense(8, Activation = Activation.Relu)] [Dense(3)]
public partial class Classifier;

/// <summary>Valid but suspicious: BPG0012.</summary>
[Network(Loss = Loss.MeanSquaredError)] [Input(4)] [Dense(3, Activation = Activation.Softmax)]
public partial class Suspicious;
