using System;
using System.Text;

namespace Backprop.Generator.Emit;

/// <summary>Writes C# source line by line with indentation; <see cref="Block"/> opens and closes braces.</summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _builder = new();
    private int _indent;

    /// <summary>Writes one line at the current indentation (an empty line has no trailing spaces).</summary>
    public void Line(string text = "")
    {
        if (text.Length > 0)
        {
            for (int i = 0; i < _indent; i++)
            {
                _builder.Append(IndentUnit);
            }
            _builder.Append(text);
        }
        _builder.Append('\n');
    }

    /// <summary>Writes <paramref name="header"/>, an opening brace, and indents until the result is disposed.</summary>
    public Scope Block(string header)
    {
        Line(header);
        Line("{");
        _indent++;
        return new Scope(this, "}");
    }

    /// <summary>Indents without braces until the result is disposed.</summary>
    public Scope Indent()
    {
        _indent++;
        return new Scope(this, null);
    }

    /// <summary>Writes an XML doc summary (one or more lines).</summary>
    public void Summary(params string[] lines)
    {
        if (lines.Length == 1)
        {
            Line("/// <summary>" + lines[0] + "</summary>");
            return;
        }
        Line("/// <summary>");
        foreach (string line in lines)
        {
            Line("/// " + line);
        }
        Line("/// </summary>");
    }

    public override string ToString() => _builder.ToString();

    /// <summary>Closes a block.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string? _close;

        public Scope(SourceWriter writer, string? close)
        {
            _writer = writer;
            _close = close;
        }

        public void Dispose()
        {
            _writer._indent--;
            if (_close is not null)
            {
                _writer.Line(_close);
            }
        }
    }
}

/// <summary>A minimal JSON writer for the architecture description (no dependency in the analyzer assembly).</summary>
internal sealed class JsonText
{
    private readonly StringBuilder _builder = new();
    private bool _needsComma;

    public JsonText BeginObject(string? key = null) => Open(key, '{');

    public JsonText EndObject() => Close('}');

    public JsonText BeginArray(string? key = null) => Open(key, '[');

    public JsonText EndArray() => Close(']');

    public JsonText Property(string key, string value)
    {
        Key(key);
        String(value);
        _needsComma = true;
        return this;
    }

    public JsonText Property(string key, int value)
    {
        Key(key);
        _builder.Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _needsComma = true;
        return this;
    }

    public JsonText Property(string key, float value)
    {
        Key(key);
        _builder.Append(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        _needsComma = true;
        return this;
    }

    public JsonText Property(string key, bool value)
    {
        Key(key);
        _builder.Append(value ? "true" : "false");
        _needsComma = true;
        return this;
    }

    public JsonText Value(int value)
    {
        Comma();
        _builder.Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _needsComma = true;
        return this;
    }

    public override string ToString() => _builder.ToString();

    private JsonText Open(string? key, char bracket)
    {
        if (key is null)
        {
            Comma();
        }
        else
        {
            Key(key);
        }
        _builder.Append(bracket);
        _needsComma = false;
        return this;
    }

    private JsonText Close(char bracket)
    {
        _builder.Append(bracket);
        _needsComma = true;
        return this;
    }

    private void Key(string key)
    {
        Comma();
        String(key);
        _builder.Append(':');
    }

    private void Comma()
    {
        if (_needsComma)
        {
            _builder.Append(',');
        }
    }

    private void String(string value)
    {
        _builder.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': _builder.Append("\\\""); break;
                case '\\': _builder.Append("\\\\"); break;
                default:
                    if (c < ' ')
                    {
                        _builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        _builder.Append(c);
                    }
                    break;
            }
        }
        _builder.Append('"');
    }
}
