using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;

namespace Backprop.Generator.Diagnostics;

/// <summary>
/// A rule family: one stable ID with its title, category, severity and help link (a section of docs/diagnostics.md).
/// Its <see cref="Messages"/> are the wordings it is reported with.
/// </summary>
internal sealed class DiagnosticRule
{
    private const string HelpBase = "https://github.com/backprop-gen/Backprop.Gen/blob/main/docs/diagnostics.md#";

    private readonly List<DiagnosticMessage> _messages = new();

    public DiagnosticRule(string id, string title, string category, DiagnosticSeverity severity, bool enabledByDefault = true, string? description = null)
    {
        Id = id;
        Title = title;
        Category = category;
        Severity = severity;
        EnabledByDefault = enabledByDefault;
        Description = description;
    }

    public string Id { get; }

    public string Title { get; }

    public string Category { get; }

    public DiagnosticSeverity Severity { get; }

    public bool EnabledByDefault { get; }

    public string? Description { get; }

    public string HelpLink => HelpBase + Id.ToLowerInvariant();

    /// <summary>The wordings of this rule, in the order the table declares them.</summary>
    public IReadOnlyList<DiagnosticMessage> Messages => _messages;

    /// <summary>Adds a wording: a composite format whose numbered arguments the reporting site supplies.</summary>
    public DiagnosticMessage Message(string format)
    {
        var message = new DiagnosticMessage(this, format);
        _messages.Add(message);
        return message;
    }
}

/// <summary>
/// One wording of a <see cref="DiagnosticRule"/>: a composite format (<c>{0}</c>, <c>{1}</c>, ...) and the descriptor
/// built from it. Sites pass only the values (layer names, shapes, numbers); the words live in the table.
/// </summary>
internal sealed class DiagnosticMessage
{
    public DiagnosticMessage(DiagnosticRule rule, string format)
    {
        Rule = rule;
        Format = format;
        foreach (System.Text.RegularExpressions.Match match in System.Text.RegularExpressions.Regex.Matches(format, @"\{(\d+)\}"))
        {
            Arity = System.Math.Max(Arity, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) + 1);
        }
        Descriptor = new DiagnosticDescriptor(rule.Id, rule.Title, format, rule.Category, rule.Severity, rule.EnabledByDefault,
            rule.Description, rule.HelpLink);
    }

    public DiagnosticRule Rule { get; }

    public string Format { get; }

    /// <summary>How many arguments the format reads.</summary>
    public int Arity { get; }

    public DiagnosticDescriptor Descriptor { get; }

    /// <summary>A rule broken by the attribute at <paramref name="attributeOrdinal"/> (-1: the class), at one of its arguments or the whole attribute.</summary>
    public ShapeError At(int attributeOrdinal, string? argumentName, params object[] arguments)
        => new(this, Texts(arguments), attributeOrdinal, argumentName);

    /// <summary>The diagnostic at <paramref name="location"/>, its arguments turned into invariant text first (as <see cref="At"/> does).</summary>
    public Diagnostic Create(Location location, params object[] arguments) => Create(location, null, Texts(arguments));

    /// <summary>The diagnostic at <paramref name="location"/> with arguments already turned into text, and optional properties.</summary>
    public Diagnostic Create(Location location, System.Collections.Immutable.ImmutableDictionary<string, string?>? properties, EquatableArray<string> arguments)
        => Diagnostic.Create(Descriptor, location, properties, Values(arguments));

    /// <summary>The message with <paramref name="arguments"/> filled in (numbers in the invariant culture).</summary>
    public string Text(params object[] arguments) => Fill(Texts(arguments));

    /// <summary>The message with arguments already turned into text.</summary>
    public string Fill(EquatableArray<string> arguments) => string.Format(CultureInfo.InvariantCulture, Format, Values(arguments));

    private static object[] Values(EquatableArray<string> arguments)
    {
        var values = new object[arguments.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = arguments[i];
        }
        return values;
    }

    /// <summary>
    /// The arguments as invariant text, so a <see cref="ShapeError"/> stays value-equatable (the generator caches it) and
    /// the message reads the same in every culture.
    /// </summary>
    private EquatableArray<string> Texts(object[] arguments)
    {
        // Never fewer than the format reads: a missing argument must not make the analyzer throw (tests check the counts).
        var texts = new string[System.Math.Max(arguments.Length, Arity)];
        for (int i = arguments.Length; i < texts.Length; i++)
        {
            texts[i] = "";
        }
        for (int i = 0; i < arguments.Length; i++)
        {
            texts[i] = arguments[i] switch
            {
                float value => value.ToString("R", CultureInfo.InvariantCulture),
                double value => value.ToString("R", CultureInfo.InvariantCulture),
                System.IFormattable value => value.ToString(null, CultureInfo.InvariantCulture),
                var value => value?.ToString() ?? "",
            };
        }
        return new EquatableArray<string>(texts);
    }
}

/// <summary>
/// The diagnostics table: every rule (ID, title, category, severity, help link) and every message it is reported with
/// (a format with numbered arguments). The analyzers' descriptors are built from it (<see cref="Descriptors"/>), shape
/// inference and the layer units report through its messages, and docs/diagnostics.md has a section per ID.
/// To add a rule: the next free ID in <see cref="DiagnosticIds"/>, a row here with its messages, a line in
/// AnalyzerReleases.Unshipped.md, a docs section, and a test that it fires on the right span and not on valid code.
/// A new family of problems gets a new ID; a new wording of an existing one is a new message of its rule.
/// </summary>
internal static class DiagnosticTable
{
    private const string Declaration = "Backprop.Declaration";
    private const string ShapeCategory = "Backprop.Shape";
    private const string Usage = "Backprop.Usage";
    private const DiagnosticSeverity Error = DiagnosticSeverity.Error;
    private const DiagnosticSeverity Warning = DiagnosticSeverity.Warning;

    // ---- The rules ---------------------------------------------------------------------------------------------

    public static readonly DiagnosticRule NotPartial = new(DiagnosticIds.NotPartial, "Network class must be partial", Declaration, Error);
    public static readonly DiagnosticRule MissingInput = new(DiagnosticIds.MissingInput, "Network has no [Input]", Declaration, Error);
    public static readonly DiagnosticRule NoLayers = new(DiagnosticIds.NoLayers, "Network has no layers", Declaration, Error);
    public static readonly DiagnosticRule LayerWithoutNetwork = new(DiagnosticIds.LayerWithoutNetwork, "Layer attribute on a class without [Network]", Declaration, Warning);
    public static readonly DiagnosticRule SplitDeclaration = new(DiagnosticIds.SplitDeclaration, "Layers split over several partial declarations", Declaration, Error);
    public static readonly DiagnosticRule NonPositiveSize = new(DiagnosticIds.NonPositiveSize, "Size must be positive", ShapeCategory, Error);
    public static readonly DiagnosticRule SoftmaxNotLast = new(DiagnosticIds.SoftmaxNotLast, "Softmax is allowed on the last layer only", ShapeCategory, Error);
    public static readonly DiagnosticRule LossMismatch = new(DiagnosticIds.LossMismatch, "Loss does not fit the network's output", ShapeCategory, Error);
    public static readonly DiagnosticRule UnsupportedClass = new(DiagnosticIds.UnsupportedClass, "Network class cannot be static, generic, abstract, file-local or a record", Declaration, Error);
    public static readonly DiagnosticRule DuplicateName = new(DiagnosticIds.DuplicateName, "Layer name used twice", Declaration, Error);
    public static readonly DiagnosticRule InvalidArgument = new(DiagnosticIds.InvalidArgument, "Invalid attribute argument", Declaration, Error);
    public static readonly DiagnosticRule MeanSquaredErrorOnSoftmax = new(DiagnosticIds.MeanSquaredErrorOnSoftmax, "Mean squared error on a Softmax output", ShapeCategory, Warning);
    public static readonly DiagnosticRule CallSiteLength = new(DiagnosticIds.CallSiteLength, "Buffer length does not fit the network", Usage, Warning);
    public static readonly DiagnosticRule GeneratedMemberCollision = new(DiagnosticIds.GeneratedMemberCollision, "Member collides with a generated member", Declaration, Error);
    public static readonly DiagnosticRule CrossEntropyOnSquashedOutput = new(DiagnosticIds.CrossEntropyOnSquashedOutput, "Softmax cross-entropy on a Sigmoid, Tanh or Relu output", ShapeCategory, Warning);
    public static readonly DiagnosticRule BinaryCrossEntropyOnUnboundedOutput = new(DiagnosticIds.BinaryCrossEntropyOnUnboundedOutput, "Binary cross-entropy on a Relu or Tanh output", ShapeCategory, Warning);
    public static readonly DiagnosticRule ShapeMismatch = new(DiagnosticIds.ShapeMismatch, "Layer does not fit the shape it receives", ShapeCategory, Error);
    public static readonly DiagnosticRule EmbeddedWeights = new(DiagnosticIds.EmbeddedWeights, "Embedded weights file is missing or does not match the network", Declaration, Error);
    public static readonly DiagnosticRule TooLarge = new(DiagnosticIds.TooLarge, "Network too large", ShapeCategory, Error);

    /// <summary>Off by default: turn it on (<c>dotnet_diagnostic.BPG0100.severity = suggestion</c>) to see each network's shapes.</summary>
    public static readonly DiagnosticRule NetworkSummary = new(DiagnosticIds.NetworkSummary, "Network shapes", ShapeCategory, DiagnosticSeverity.Info,
        enabledByDefault: false, description: "The inferred shape after each layer and the parameter count.");

    /// <summary>Every rule, in ID order.</summary>
    public static readonly DiagnosticRule[] Rules =
    {
        NotPartial, MissingInput, NoLayers, LayerWithoutNetwork, SplitDeclaration, NonPositiveSize, SoftmaxNotLast, LossMismatch,
        UnsupportedClass, DuplicateName, InvalidArgument, MeanSquaredErrorOnSoftmax, CallSiteLength, GeneratedMemberCollision,
        CrossEntropyOnSquashedOutput, BinaryCrossEntropyOnUnboundedOutput, ShapeMismatch, EmbeddedWeights, TooLarge, NetworkSummary,
    };

    // ---- The messages ------------------------------------------------------------------------------------------
    // {0} is the network ('N') or the layer (Dense 'dense1') unless a message says otherwise.

    // BPG0001
    public static readonly DiagnosticMessage ClassNotPartial = NotPartial.Message("'{0}' must be declared partial so the generator can add the network's members.");
    public static readonly DiagnosticMessage EnclosingTypeNotPartial = NotPartial.Message("'{0}' is nested in a type that is not partial; make every enclosing type partial.");
    public static readonly DiagnosticMessage ClassAndEnclosingTypesNotPartial = NotPartial.Message("'{0}' and the types enclosing it must be declared partial so the generator can add the network's members.");

    // BPG0002, BPG0003
    public static readonly DiagnosticMessage NoInput = MissingInput.Message("'{0}' has no [Input(...)]; declare the shape of one sample, e.g. [Input(784)] or [Input(1, 28, 28)] (channels, height, width).");
    public static readonly DiagnosticMessage NoLayer = NoLayers.Message("'{0}' has no layers; add at least one, e.g. [Dense(10)].");

    // BPG0004: {0} the attribute, {1} the class.
    public static readonly DiagnosticMessage AttributeWithoutNetwork = LayerWithoutNetwork.Message("[{0}] has no effect: '{1}' has no [Network] attribute; add [Network] to compile it into a network.");

    // BPG0005
    public static readonly DiagnosticMessage LayersOnAnotherDeclaration = SplitDeclaration.Message("'{0}' has {1} layer or input attribute(s) on another partial declaration; put all of them on the declaration with [Network], in order.");
    public static readonly DiagnosticMessage AttributeOnAnotherDeclaration = SplitDeclaration.Message("[{0}] is on another partial declaration of '{1}' than [Network]; put every layer and input attribute on the declaration with [Network], in order.");

    // BPG0006: {1} what the number is (kernel size, Stride, ...), {2} its value.
    public static readonly DiagnosticMessage InputSizeBelowOne = NonPositiveSize.Message("[Input] of '{0}' has size {1}; a sample needs at least 1 feature.");
    public static readonly DiagnosticMessage InputDimensionBelowOne = NonPositiveSize.Message("[Input] of '{0}' has {1} as dimension {2} of {3}; every dimension must be at least 1.");
    public static readonly DiagnosticMessage UnitsBelowOne = NonPositiveSize.Message("{0} has {1} units; a layer needs at least 1.");
    public static readonly DiagnosticMessage Negative = NonPositiveSize.Message("{0} has {1} {2}; it cannot be negative.");
    public static readonly DiagnosticMessage BelowMinimum = NonPositiveSize.Message("{0} has {1} {2}; it must be at least {3}.");

    // BPG0007
    public static readonly DiagnosticMessage SoftmaxBeforeLast = SoftmaxNotLast.Message("{0} uses Softmax, which is allowed on the last layer only; use Relu (or another element-wise activation) here.");
    public static readonly DiagnosticMessage SoftmaxPerStep = SoftmaxNotLast.Message("{0} applies per step, so Softmax would give one distribution per step, but the losses take one class (or one target vector) per sample; drop PerStep, or end with a linear or Sigmoid layer.");
    public static readonly DiagnosticMessage SoftmaxOnFeatureMaps = SoftmaxNotLast.Message("{0} uses Softmax, which normalizes over classes; a convolution's outputs are feature maps. Use Relu here, and end the network with Flatten and Dense(classes, Activation = Activation.Softmax).");
    public static readonly DiagnosticMessage SoftmaxOnNormalized = SoftmaxNotLast.Message("{0} uses Softmax, which normalizes over classes; normalized features feed further layers. Use Relu here, and end the network with Dense(classes, Activation = Activation.Softmax).");

    // BPG0008: {1} the last layer.
    public static readonly DiagnosticMessage SoftmaxOverOneOutput = LossMismatch.Message("'{0}' uses SoftmaxCrossEntropy, but its last layer '{1}' gives 1 output: a softmax over one class is always 1. Use BinaryCrossEntropy for one output, or give '{1}' one unit per class.");
    public static readonly DiagnosticMessage BinaryCrossEntropyOnSoftmax = LossMismatch.Message("'{0}' uses BinaryCrossEntropy, but its last layer '{1}' ends in Softmax; use Sigmoid (independent probabilities) or SoftmaxCrossEntropy (one class per sample).");

    // BPG0009
    public static readonly DiagnosticMessage GenericClass = UnsupportedClass.Message("'{0}' is generic (or nested in a generic type); a network class cannot have type parameters.");
    public static readonly DiagnosticMessage StaticClass = UnsupportedClass.Message("'{0}' is static; a network holds parameters, so it must be an instance class.");
    public static readonly DiagnosticMessage RecordClass = UnsupportedClass.Message("'{0}' is a record; declare the network as a plain partial class.");
    public static readonly DiagnosticMessage FileLocalClass = UnsupportedClass.Message("'{0}' is a file-local type (or nested in one); the generated half lives in another file, and a file type cannot span files. Remove 'file' (make it internal to hide it).");
    public static readonly DiagnosticMessage AbstractClass = UnsupportedClass.Message("'{0}' is abstract; a network must be constructible.");

    // BPG0010: {1} the name.
    public static readonly DiagnosticMessage NameUsedTwice = DuplicateName.Message("Two layers of '{0}' are named '{1}' (or names that differ only in case or '_'); tensor and member names must be unique.");

    // BPG0011
    public static readonly DiagnosticMessage UnknownLoss = InvalidArgument.Message("'{0}' has a Loss that is not one of {1}.");
    public static readonly DiagnosticMessage UnknownActivation = InvalidArgument.Message("{0} has an Activation that is not one of {1}.");
    public static readonly DiagnosticMessage UnknownLayerKind = InvalidArgument.Message("'{0}' derives from LayerAttribute but is not a layer kind this version of Backprop.Gen knows.");
    public static readonly DiagnosticMessage UnusableName = InvalidArgument.Message("Layer name \"{0}\" is not usable: use letters, digits and '_' (no dots or spaces), starting with a letter or '_'.");
    public static readonly DiagnosticMessage UnboundArguments = InvalidArgument.Message("{0} has arguments the compiler could not bind; fix them first.");
    public static readonly DiagnosticMessage InputNotConstant = InvalidArgument.Message("[Input] of '{0}' needs constant dimensions, e.g. [Input(784)] or [Input(1, 28, 28)] (channels, height, width).");
    public static readonly DiagnosticMessage NotConstant = InvalidArgument.Message("{0} needs a constant {1}.");
    public static readonly DiagnosticMessage RealNotConstant = InvalidArgument.Message("{0} needs a constant {1}, e.g. {1} = {2}f.");
    public static readonly DiagnosticMessage RateNotConstant = InvalidArgument.Message("{0} needs a constant rate, e.g. [Dropout(0.25f)].");
    public static readonly DiagnosticMessage RateOutOfRange = InvalidArgument.Message("{0} has rate {1}; the probability of zeroing a value must be in [0, 1) (1 would zero everything).");
    public static readonly DiagnosticMessage MomentumOutOfRange = InvalidArgument.Message("{0} has Momentum {1}; it is the share of each batch's statistics in the running ones, in [0, 1] (PyTorch's default is 0.1).");
    public static readonly DiagnosticMessage EpsilonNotPositive = InvalidArgument.Message("{0} has Epsilon {1}; it keeps the division by √(variance + ε) finite, so it must be positive (PyTorch's default is 1e-5).");
    public static readonly DiagnosticMessage VocabularyBeyondFloats = InvalidArgument.Message("{0} has a vocabulary of {1}; token ids arrive as floats, which hold integers exactly only up to {2} (2^24).");

    // BPG0012
    public static readonly DiagnosticMessage SquaredErrorOnSoftmax = MeanSquaredErrorOnSoftmax.Message("'{0}' uses MeanSquaredError on the Softmax output of '{1}'; for classification SoftmaxCrossEntropy trains far better.");

    // BPG0013: {0} the call (Mlp.Predict), then the sizes.
    public static readonly DiagnosticMessage InputsNotWholeSamples = CallSiteLength.Message("{0} takes inputs in whole samples of InputSize = {1} values, but this buffer has {2}.");
    public static readonly DiagnosticMessage OutputsDoNotMatchInputs = CallSiteLength.Message("{0} gets {1} sample(s), so {2} needs {1} x OutputSize {3} = {4} values, but this buffer has {5}.");
    public static readonly DiagnosticMessage OutputsNotWholeSamples = CallSiteLength.Message("{0} needs {1} in whole samples of OutputSize = {2} values, but this buffer has {3}.");
    public static readonly DiagnosticMessage LabelsDoNotMatchInputs = CallSiteLength.Message("{0} gets {1} sample(s) and needs one label each, but this buffer has {2} labels.");

    // BPG0014
    public static readonly DiagnosticMessage ClassNamedLikeMember = GeneratedMemberCollision.Message("'{0}' is named like a member the generator adds to the network ('{1}'), and C# forbids a member named like its class (CS0542); rename the class (docs/user-guide.md lists the names the generator uses).");
    public static readonly DiagnosticMessage ConstructorCollides = GeneratedMemberCollision.Message("The generated half of '{0}' declares the constructor ({1}); yours has the same parameters. Give yours other parameters and chain to it with ': this(maxBatch, seed)'.");
    public static readonly DiagnosticMessage MemberCollides = GeneratedMemberCollision.Message("'{0}' is a member of the generated half of '{1}' too; rename yours (docs/user-guide.md lists the names the generator uses).");

    // BPG0015, BPG0016: {1} the activation, {2} the last layer.
    public static readonly DiagnosticMessage CrossEntropyOnRelu = CrossEntropyOnSquashedOutput.Message("'{0}' uses SoftmaxCrossEntropy on the Relu outputs of '{1}': every negative logit is cut to 0 and gets no gradient, so a class whose logits go negative can stop learning. Use Activation.Softmax (the loss is fused with it and Predict returns probabilities) or Activation.Linear (Predict returns logits).");
    public static readonly DiagnosticMessage CrossEntropyOnSqueezed = CrossEntropyOnSquashedOutput.Message("'{0}' uses SoftmaxCrossEntropy on the {1} outputs of '{2}': the softmax sees logits squeezed into {3}, so no class can get a probability near 1 and training stalls. Use Activation.Softmax (the loss is fused with it and Predict returns probabilities) or Activation.Linear (Predict returns logits).");
    public static readonly DiagnosticMessage BinaryCrossEntropyOnRelu = BinaryCrossEntropyOnUnboundedOutput.Message("'{0}' uses BinaryCrossEntropy on the Relu outputs of '{1}': the loss reads them as logits, so the predicted probability can never go below 0.5 (Relu is never negative). Use Activation.Sigmoid (the loss is fused with it and Predict returns probabilities) or Activation.Linear.");
    public static readonly DiagnosticMessage BinaryCrossEntropyOnTanh = BinaryCrossEntropyOnUnboundedOutput.Message("'{0}' uses BinaryCrossEntropy on the Tanh outputs of '{1}': the loss reads them as logits, so the predicted probability can never go below 0.27 or above 0.73 (Tanh stays in (-1, 1)). Use Activation.Sigmoid (the loss is fused with it and Predict returns probabilities) or Activation.Linear.");

    // BPG0017: {1} the layer before ('dense1' or "the input"), {2} the shape it gives.
    public static readonly DiagnosticMessage NotAnImage = ShapeMismatch.Message("{0} needs [channels, height, width] samples, but {1} gives {2}; declare the input as [Input(channels, height, width)], or put the layer before Flatten and Dense.");
    public static readonly DiagnosticMessage KernelLargerThanInput = ShapeMismatch.Message("{0} has a {1}×{1} kernel, larger than its {2}×{3} input ({4} gives {5}); use a smaller kernel or more padding.");
    public static readonly DiagnosticMessage KernelLargerThanPaddedInput = ShapeMismatch.Message("{0} has a {1}×{1} kernel, larger than its {2}×{3} input ({4} gives {5}, padded by {6} on each side); use a smaller kernel or more padding.");
    public static readonly DiagnosticMessage WindowLargerThanInput = ShapeMismatch.Message("{0} has a {1}×{1} window, larger than the {2}×{3} planes {4} gives ({5}); use a smaller window or remove the layer.");
    public static readonly DiagnosticMessage FlattenLast = ShapeMismatch.Message("{0} is the last layer; it only reshapes, so the loss would read {1}'s values directly. End the network with a layer that computes its outputs, e.g. [Dense(classes)].");
    public static readonly DiagnosticMessage DropoutLast = ShapeMismatch.Message("{0} is the last layer; the loss would read randomly zeroed outputs. Put it before the last layer.");
    public static readonly DiagnosticMessage NormalizationLast = ShapeMismatch.Message("{0} is the last layer; it standardizes inputs for the layers after it. Put it first.");
    public static readonly DiagnosticMessage NotBatchNormShape = ShapeMismatch.Message("{0} needs [features] (BatchNorm1d) or [channels, height, width] (BatchNorm2d) samples, but {1} gives {2}; put it after a Dense or Conv2D layer.");
    public static readonly DiagnosticMessage PerStepWithoutSteps = ShapeMismatch.Message("{0} with PerStep = true needs [steps, features] samples, but {1} gives {2}; apply it after a recurrent layer with ReturnSequences = true, or to an [Input(steps, features)].");
    public static readonly DiagnosticMessage EmbeddingNotFirst = ShapeMismatch.Message("{0} must be the first layer: it reads token ids from the input, but here it follows {1}.");
    public static readonly DiagnosticMessage EmbeddingNeedsSteps = ShapeMismatch.Message("{0} reads one token id per step, [steps], but the input is {1}; declare it as [Input(steps)].");
    public static readonly DiagnosticMessage RecurrentOnFlatInput = ShapeMismatch.Message("{0} needs [steps, features] samples, but the input gives {1}, which has no step dimension. Declare the input as [Input(steps, features)] (for example [Input({2}, 1)] for one value per step), or put an Embedding first for token ids.");
    public static readonly DiagnosticMessage RecurrentAfterFlatLayer = ShapeMismatch.Message("{0} needs [steps, features] samples, but {1} gives {2}, which has no step dimension. Give the layer before it ReturnSequences = true, or feed it [steps, features] inputs.");
    public static readonly DiagnosticMessage RecurrentOnImage = ShapeMismatch.Message("{0} needs [steps, features] samples, but {1} gives {2}, which has no step dimension. Declare the input as [Input(steps, features)]: an image of 28 x 28 pixels reads as 28 steps of 28 features.");

    // BPG0018: {0} the declared file, {1} the network.
    public static readonly DiagnosticMessage WeightsNotListed = EmbeddedWeights.Message("'{0}' is not among the project's embedded weights: add <BackpropWeights Include=\"{0}\" /> to the project file (the Backprop.Gen package then embeds the file and checks it against {1}).");
    public static readonly DiagnosticMessage WeightsMissing = EmbeddedWeights.Message("The weights file '{0}' of {1} does not exist (the path is relative to the project directory).");
    public static readonly DiagnosticMessage WeightsUnreadable = EmbeddedWeights.Message("The weights file '{0}' of {1} is not a readable safetensors file: {2}.");
    public static readonly DiagnosticMessage WeightsOfAnotherArchitecture = EmbeddedWeights.Message("The weights file '{0}' holds another network with the same tensors: its architecture is {2}, but {1} is {3}.");
    public static readonly DiagnosticMessage WeightsDoNotMatch = EmbeddedWeights.Message("The weights file '{0}' does not match {1}: {2}.");

    // BPG0019: a network whose buffers or parameters do not fit in one array.
    public static readonly DiagnosticMessage InputTooLarge = TooLarge.Message("[Input] of '{0}' declares {1}, more values per sample than one buffer can hold.");
    public static readonly DiagnosticMessage LayerTooLarge = TooLarge.Message("{0} on {1} is too large for one buffer.");
    public static readonly DiagnosticMessage ConvolutionTooLarge = TooLarge.Message("{0} ({1} filters of {2}×{3}×{3} on {4}) is too large for one buffer.");
    public static readonly DiagnosticMessage DenseTooLarge = TooLarge.Message("{0} ({1} inputs x {2} units) makes the network too large for one parameter block.");
    public static readonly DiagnosticMessage EmbeddingTooLarge = TooLarge.Message("{0} ({1} x {2}) makes the network too large for one parameter block.");
    public static readonly DiagnosticMessage RecurrentTooLarge = TooLarge.Message("{0} ({1} steps x {2} features, {3} units) makes the network too large for one parameter block.");

    // BPG0100: {0} the class, {1} the input shape, {2} each layer's name and output shape, {3} the parameter count, {4} the loss.
    public static readonly DiagnosticMessage Shapes = NetworkSummary.Message("{0}: input {1}{2}; {3} parameters, loss {4}");
}
