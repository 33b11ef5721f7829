using System.Threading.Tasks;
using Backprop.CodeFixes;
using Backprop.Generator.Analyzers;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>Each code fix, on one diagnostic and (the harness runs it too) through fix-all.</summary>
public class CodeFixTests
{
    [Fact]
    public Task Make_partial_adds_the_modifier_to_the_class_and_its_containers() =>
        new CodeFixTest<NetworkAnalyzer, MakePartialCodeFix>("""
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(2)]
            public class {|BPG0001:First|} { }

            public class Outer
            {
                [Network] [Input(4)] [Dense(2)]
                class {|BPG0001:Second|} { }
            }
            """, """
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(2)]
            public partial class First { }

            public partial class Outer
            {
                [Network] [Input(4)] [Dense(2)]
                partial class Second { }
            }
            """).RunAsync();

    [Fact]
    public Task Add_Network_to_a_class_with_layer_attributes() =>
        new CodeFixTest<NetworkAnalyzer, AddNetworkAttributeCodeFix>("""
            using Backprop;

            [{|BPG0004:Input(4)|}]
            [{|BPG0004:Dense(2)|}]
            public partial class A;

            namespace Inner
            {
                /// <summary>Documented.</summary>
                [{|BPG0004:Input(3)|}]
                [{|BPG0004:Dense(3)|}]
                public partial class B;
            }
            """, """
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(2)]
            public partial class A;

            namespace Inner
            {
                /// <summary>Documented.</summary>
                [Network]
                [Input(3)]
                [Dense(3)]
                public partial class B;
            }
            """).RunAsync();

    [Fact]
    public Task Add_Network_across_two_files_adds_it_once() =>
        // Both files report BPG0004; a project- or solution-wide fix-all must not put [Network] into both (CS0579).
        AcrossFiles<AddNetworkAttributeCodeFix>(
        [
            ("A.cs", """
            using Backprop;

            [{|BPG0004:Input(4)|}]
            [{|BPG0004:Dense(8)|}]
            public partial class N;
            """),
            ("B.cs", """
            using Backprop;

            [{|BPG0004:Dense(2)|}]
            public partial class N;
            """),
        ],
        [
            ("A.cs", """
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(8)]
            public partial class N;
            """),
            ("B.cs", """
            using Backprop;

            [{|BPG0005:Dense(2)|}]
            public partial class N;
            """),
        ]);

    [Fact]
    public Task Add_Network_goes_to_the_declaration_with_the_layers_not_one_with_other_attributes() =>
        AcrossFiles<AddNetworkAttributeCodeFix>(
        [
            ("A.cs", """
            [System.Obsolete]
            public partial class N;
            """),
            ("B.cs", """
            using Backprop;

            [{|BPG0004:Input(4)|}]
            [{|BPG0004:Dense(2)|}]
            public partial class N;
            """),
        ],
        [
            ("A.cs", """
            [System.Obsolete]
            public partial class N;
            """),
            ("B.cs", """
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(2)]
            public partial class N;
            """),
        ]);

    [Fact]
    public Task Move_layer_attributes_onto_the_Network_declaration() =>
        new CodeFixTest<NetworkAnalyzer, MoveLayerAttributesCodeFix>("""
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(8)]
            public partial class N;

            [{|BPG0005:Dense(4)|}]
            [{|BPG0005:Dense(2)|}]
            public partial class N
            {
            }
            """, """
            using Backprop;

            [Network]
            [Input(4)]
            [Dense(8)]
            [Dense(4)]
            [Dense(2)]
            public partial class N;

            public partial class N
            {
            }
            """).RunAsync();

    [Fact]
    public Task Moving_attributes_to_another_file_brings_the_usings_they_need() =>
        AcrossFiles<MoveLayerAttributesCodeFix>(
        [
            ("Network.cs", """
            [Backprop.Network]
            [Backprop.Input(4)]
            [Backprop.Dense(8)]
            public partial class N;
            """),
            ("Layers.cs", """
            using Backprop;

            [{|BPG0005:Dense(4, Activation = Activation.Relu)|}]
            [{|BPG0005:Dense(2)|}]
            public partial class N
            {
            }
            """),
        ],
        [
            ("Network.cs", """
            using Backprop;

            [Backprop.Network]
            [Backprop.Input(4)]
            [Backprop.Dense(8)]
            [Dense(4, Activation = Activation.Relu)]
            [Dense(2)]
            public partial class N;
            """),
            ("Layers.cs", """
            using Backprop;

            public partial class N
            {
            }
            """),
        ]);

    [Fact]
    public Task Loss_mismatches_are_corrected_in_the_obvious_direction() =>
        new CodeFixTest<NetworkAnalyzer, LossMismatchCodeFix>("""
            using Backprop;

            [Network({|BPG0008:Loss = Loss.SoftmaxCrossEntropy|})] [Input(4)] [Dense(1)]
            public partial class OneOutput;

            [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(3, {|BPG0008:Activation = Activation.Softmax|})]
            public partial class SoftmaxBce;

            [Network({|BPG0012:Loss = Loss.MeanSquaredError|})] [Input(4)] [Dense(3, Activation = Activation.Softmax)]
            public partial class SoftmaxMse;

            [Network] [Input(4)] [Dense(8)] [Dense(3, {|BPG0015:Activation = Activation.Relu|})]
            public partial class ReluCrossEntropy;

            [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(2, {|BPG0016:Activation = Activation.Tanh|})]
            public partial class TanhBce;
            """, """
            using Backprop;

            [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(1)]
            public partial class OneOutput;

            [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(3, Activation = Activation.Sigmoid)]
            public partial class SoftmaxBce;

            [Network(Loss = Loss.SoftmaxCrossEntropy)] [Input(4)] [Dense(3, Activation = Activation.Softmax)]
            public partial class SoftmaxMse;

            [Network] [Input(4)] [Dense(8)] [Dense(3, Activation = Activation.Softmax)]
            public partial class ReluCrossEntropy;

            [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(2, Activation = Activation.Sigmoid)]
            public partial class TanhBce;
            """).RunAsync();

    [Fact]
    public Task Loss_fix_adds_the_argument_when_the_default_loss_is_implied() =>
        new CodeFixTest<NetworkAnalyzer, LossMismatchCodeFix>("""
            using Backprop;

            [{|BPG0008:Network|}] [Input(4)] [Dense(1)]
            public partial class OneOutput;
            """, """
            using Backprop;

            [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(1)]
            public partial class OneOutput;
            """).RunAsync();

    /// <summary>A fix on sources in several files: the harness runs it once per diagnostic and through fix-all in each scope.</summary>
    private static Task AcrossFiles<TFix>((string Name, string Source)[] before, (string Name, string Source)[] after)
        where TFix : Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider, new()
    {
        var test = new CodeFixTest<NetworkAnalyzer, TFix>("", "");
        test.TestState.Sources.Clear();
        test.FixedState.Sources.Clear();
        foreach (var source in before)
        {
            test.TestState.Sources.Add(source);
        }
        foreach (var source in after)
        {
            test.FixedState.Sources.Add(source);
        }
        return test.RunAsync();
    }
}
